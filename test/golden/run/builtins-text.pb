# Text tools
Builtin functions for text: len, str, upper, lower, strip, split, join, replace, startswith,
endswith, type, json, parse_json.

## Main
### Triggers
- At the beginning
### Steps
- s = "  Hello, World  "
- t = strip(s)
- Say "strip: [{t}]"
- Say "len: {len(t)}"
- Say "upper: {upper(t)}, lower: {lower(t)}"
- Say "split on white space: {split('a  b   c ')}"
- Say "split on a separator: {split('a,b,,c', ',')}"
- Say "join: {join(['x', 'y', 'z'], '-')} and without a separator: {join(['x', 'y'])}"
- Say "join converts with str: {join([1, True, None], '/')}"
- Say "replace: {replace(t, 'l', 'L')}"
- Say "startswith: {startswith(t, 'Hell')}, endswith: {endswith(t, '!')}"
- Say "str: {str(42)} {str(2.5)} {str(True)} {str(None)} {str([1, 'a'])}"
- Say "str(42) + '!' = {str(42) + '!'}"
- Say "type: {type(1)} {type(1.5)} {type('a')} {type(True)} {type(None)} {type([])} {type({})}"
- data = {"name": "Ada", "langs": ["en", "fr"], "active": True, "boss": None}
- text = json(data)
- Say "json: {text}"
- back = parse_json(text)
- Say "parse_json: {back.langs[1]} {back == data}"
- Say "parse_json of a number: {parse_json('3') + 4}"
- Say "reversed: {reversed('stressed')}"

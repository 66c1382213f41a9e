# Collections
List and object literals, indexing (negative indexes count from the end), member access.

## Main
### Triggers
- At the beginning
### Steps
- $list = [1, "two", 3.5, true, null, [4, 5]]
- Say $list
- Say "first {$list[0]}, last {$list[-1]}, second to last {$list[-2]}"
- Say "nested {$list[5][1]}, nested negative {$list[-1][-1]}"
- $person = {"name": "Ada", age: 36, "tags": ["math", "code"], "address": {"city": "London"}}
- Say $person
- Say "name {$person.name}, age {$person['age']}"
- Say "city {$person.address.city} = {$person['address']['city']}"
- Say "last tag {$person.tags[-1]}"
- key = "age"
- Say "computed key: {$person[key]}"
- word = "hello"
- Say "word[1] = {word[1]}, word[-1] = {word[-1]}"
- $obj = {"sum": $list[0] + $list[5][0], "count": len($list)}
- Say $obj
- Say "len of empty: {len([])} {len({})} {len('')}"
- Say "objects keep insertion order: {keys({'z': 1, 'a': 2, 'm': 3})}"
- Say "numeric-looking keys keep insertion order too: {keys({'b': 1, '10': 2, '2': 3})}"

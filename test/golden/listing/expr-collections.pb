# Collections

## Main
### Steps
- $empty_list = []
- $list = [1, "two", 3.0, true, false, null, [4, 5],]
- $obj = {"name": "Ada", age: 36, "tags": ["x", "y"], "inner": {"k": None}}
- $empty_obj = {}
- $first = $list[0]
- $nested = $list[6][1]
- $name = $obj["name"]
- $age = $obj.age
- $deep = $obj.inner.k
- $tag = $obj.tags[1]
- $computed = {"sum": $list[0] + $nested, "len": len($list)}
- $bools = [True, False, None]

# Numbers
Where numbers differ from Python. Python keeps ints and floats apart (6 / 2 is the float 3.0)
and its ints are exact at any size. Each line below shows what Python prints after the `|`.

## Main
### Triggers
- At the beginning
### Steps
- Say "{6 / 2} | 3.0"
- Say "{type(6 / 2)} | float"
- Say "{float(3)} {type(float(3))} | 3.0 float"
- Say "{7.5 // 2} | 3.0"
- Say "{2 ** 64} | 18446744073709551616"
- Say "{10 ** 21} | 1000000000000000000000"
- Say "{2 ** 53 + 1} | 9007199254740993"
- Say "{int('12345678901234567890')} | 12345678901234567890"
- Say "{1 / 3} | 0.3333333333333333"
- Say "{1e16} | 1e+16"

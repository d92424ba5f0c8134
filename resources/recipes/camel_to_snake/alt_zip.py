"""One comprehension over (previous, current, next) triples built with zip."""


def camel_to_snake(name: str) -> str:
    prevs = " " + name[:-1]
    nexts = name[1:] + " "
    return "".join(
        ("_" if c.isupper() and (p.islower() or p.isdigit() or (p.isupper() and n.islower())) else "")
        + c.lower()
        for p, c, n in zip(prevs, name, nexts, strict=False)
    )

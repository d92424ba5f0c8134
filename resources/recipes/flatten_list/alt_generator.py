"""A recursive generator with yield from."""


def _walk(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _walk(item)
        else:
            yield item


def flatten(nested):
    return list(_walk(nested))

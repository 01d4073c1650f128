"""Web pages tinyrnn writes or serves: static HTML, CSS and JavaScript, no build step."""
from importlib import resources


def asset(name):
    """The text of a file of this package (reading.html, playground.html, ...)."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")

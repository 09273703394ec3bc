"""openaudit: is this AI model really open? Audits Hub repos against OSAID 1.0."""

__version__ = "1.0.0"

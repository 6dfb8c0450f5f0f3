"""stub"""

HANDLERS: dict = {}

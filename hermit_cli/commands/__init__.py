"""The ``hermit`` commands, one module per noun; ``main.py`` lists them in order."""

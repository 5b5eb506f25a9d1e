"""Chat formats several model families share (a turn structure, a call syntax, a template).
A family (toolcall/families/<name>.py) picks one and sets what is its own: the system turn it
writes for the tools, its default system prompt, its tokens.
"""

"""Pure progress logic: events and the current instant in, figures and effects out.

Nothing here imports asyncio, touches I/O or reads a clock; the shell (``realtime``) and
``storage`` call it.
"""

"""The servers under test. Each module is one ASGI app (or, for the ceiling, a script).

Every server does the same job on ``/ws/<room>/`` (chgen's plain app also on
``/echo/<room>/``):

* request/reply: decode a JSON request, (validate it), reply with JSON carrying its id;
* fan-out: a ``post`` from a member is broadcast as a ``posted`` event to every member of
  the room's group (the sender included), and the sender gets an ack carrying the id.

Each connection joins its room's group on connect, as chgen's chat consumer does.
"""

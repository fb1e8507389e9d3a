"""The message protocol between a sandbox launcher (host) and the zygote (sandbox).

One JSON object per line over a Unix stream socket. Requests: ``{"ping": true}``,
``{"kernel": "<connection file name>"}``, then ``{"go": true}``, ``{"signal": n}`` and
``{"collected": true}``. Answers: ``{"pong": true}``, ``{"ready": true}``, ``{"pid": n}``,
``{"exit": code, "cpu_s": s, "walled": bool}``. Anything that is not a JSON object is ignored.
Standard library only.
"""

import json

MAX_LINE = 65536


def send(connection, message: dict) -> bool:
    """Send one message; False if the peer is gone."""
    try:
        connection.sendall((json.dumps(message) + "\n").encode())
        return True
    except OSError:
        return False


class Lines:
    """Messages read from a socket, one per line (keeps what follows a newline)."""

    def __init__(self, connection) -> None:
        self.connection, self.buffer, self.pending = connection, b"", []

    def feed(self) -> bool:
        """Read once from the socket; False at end of file (or on an error)."""
        try:
            chunk = self.connection.recv(4096)
        except OSError:
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def _parse(self) -> None:
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                self.pending.append(message)

    def pop(self) -> list:
        """Every complete message received so far."""
        self._parse()
        messages, self.pending = self.pending, []
        return messages

    def next(self) -> dict:
        """The next message ({} at end of file, or after a line longer than MAX_LINE)."""
        self._parse()
        while not self.pending:
            if len(self.buffer) >= MAX_LINE or not self.feed():
                return {}
            self._parse()
        return self.pending.pop(0)

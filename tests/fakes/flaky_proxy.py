"""A TCP proxy on loopback that, while ``failing``, accepts connections and closes them at once
(or after reading the request): what a store or API under trouble does to its clients.
Otherwise it forwards bytes both ways to the real peer behind it."""

from __future__ import annotations

import socket
import threading


class FlakyProxy:
    """``url`` reaches ``target`` (host, port) through the proxy; set ``failing`` to break it."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.failing = False
        self.dropped = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def start(self) -> FlakyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.failing:
                self.dropped += 1
                client.recv(65536)  # the request arrived; the connection closes without an answer
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

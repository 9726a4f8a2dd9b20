"""A TCP proxy on a loopback port in front of a real server (PostgreSQL, Redis), which a test can break.

    proxy = TcpProxy(5432)        # forwards 127.0.0.1:<proxy.port> to 127.0.0.1:5432
    proxy.cut()                   # closes every connection and refuses new ones, as a server that is gone
    proxy.black_hole()            # accepts and keeps connections but forwards nothing, as a lost network
    proxy.black_hole(new_connections=False)  # only the open connections stall (a failover, a dropped NAT entry)
    proxy.restore()               # forwards again (what a black hole held back is delivered)
    proxy.close()
"""

import socket
import threading


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._gates: set[threading.Event] = set()  # one per connection: set while it forwards
        self._new_connections_flow = True
        self._cut = False
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def cut(self) -> None:
        self._cut = True
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)
        self._open_gates()  # relays held by a black hole find their sockets closed

    def black_hole(self, *, new_connections: bool = True) -> None:
        self._new_connections_flow = not new_connections
        with self._lock:
            for gate in self._gates:
                gate.clear()

    def restore(self) -> None:
        self._cut = False
        self._new_connections_flow = True
        self._open_gates()

    def _open_gates(self):
        with self._lock:
            for gate in self._gates:
                gate.set()

    def close(self) -> None:
        _close(self._listener)
        self.cut()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            if self._cut:
                _close(client)
            else:
                threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client):
        self._track(client)
        gate = threading.Event()
        if self._new_connections_flow:
            gate.set()
        with self._lock:
            self._gates.add(gate)
        gate.wait()  # a black hole accepts, and no more
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            _close(client)
            return
        self._track(upstream)
        if self._cut:
            _close(client), _close(upstream)
            return
        threading.Thread(target=self._relay, args=(upstream, client, gate), daemon=True).start()
        self._relay(client, upstream, gate)

    def _relay(self, source, destination, gate):
        while True:
            gate.wait()
            try:
                data = source.recv(65536)
                if not data:
                    break
                gate.wait()  # bytes read as a black hole began wait for its end
                destination.sendall(data)
            except OSError:
                break
        _close(source), _close(destination)

    def _track(self, sock):
        with self._lock:
            self._sockets.add(sock)
        if self._cut:
            _close(sock)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

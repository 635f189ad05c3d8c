"""A fault-injecting TCP proxy for the end-to-end tests: firmware -> proxy -> `devauth dev-as`.

The proxy forwards the real TLS bytes of the dev server (it never decrypts them) and follows the
TLS 1.2 record layer in both directions, so it knows where a request starts (the client's first
application-data record after a reply) and which record is its reply (the server's next
application-data record; dev-as writes a reply in one record). A `Policy` decides, at each event,
which fault to inject:

- on a new connection: `("handshake_reset", n)` forwards n bytes of the server's handshake and
  resets; `("wrong_host",)` answers with the proxy's own TLS server and a certificate for another
  host (the proxy owns TLS for that connection; the firmware must refuse it before sending);
- on a request: `("stall",)` swallows it and holds the connection silent (a dead link);
- on a reply: `("reset", n)` forwards n bytes of the reply record, then a TCP reset;
  `("truncate",)` forwards half of it, then a clean close (FIN); `("corrupt",)` flips one byte of
  the record's ciphertext; `("drip", k, period)` delivers its first k bytes one every `period`
  seconds ("1 byte per second"), then the rest;
- after a reply: `("close",)` closes the connection between keep-alive requests;
  `("refuse", seconds)` closes it and refuses connections (no listener: ECONNREFUSED) for that
  long. `proxy.refuse(seconds)` does the same from outside (before the first connection).

`Schedule` is the simple policy: faults keyed by the exchange number (0, 1, ...). The fault matrix
(test_faults.py) uses its own policy that knows the sign-in's steps. Only 127.0.0.1 is used.
"""

import select
import socket
import ssl
import struct
import threading
import time

HANDSHAKE, CCS, ALERT, APPDATA = 22, 20, 21, 23


class Exchange:
    """One request/reply pair as the proxy saw it."""

    def __init__(self, index, conn, label=None):
        self.index = index  # 0, 1, ... over the proxy's life (or since `new_run`)
        self.conn = conn  # the connection number
        self.label = label  # what the policy predicted or the classifier said (a step name)
        self.fault = None  # the fault applied to it, if any
        self.replied = False  # its reply reached the proxy

    def __repr__(self):
        return "<Exchange %d conn %d %s fault=%s>" % (self.index, self.conn, self.label, self.fault)


class Policy:
    """Decides the faults; every method may return None (no fault). Called from proxy threads."""

    def on_connection(self, proxy, conn):
        return None

    def on_request(self, proxy, ex):
        return None

    def on_reply(self, proxy, ex):
        return None

    def after_reply(self, proxy, ex):
        return None


class Schedule(Policy):
    """Faults by exchange number: {index: fault}; connection faults by connection number."""

    def __init__(self, replies=None, requests=None, after=None, connections=None):
        self.replies = dict(replies or {})
        self.requests = dict(requests or {})
        self.after = dict(after or {})
        self.connections = dict(connections or {})

    def on_connection(self, proxy, conn):
        return self.connections.pop(conn, None)

    def on_request(self, proxy, ex):
        return self.requests.pop(ex.index, None)

    def on_reply(self, proxy, ex):
        return self.replies.pop(ex.index, None)

    def after_reply(self, proxy, ex):
        return self.after.pop(ex.index, None)


def _reset(sock):
    """Close with a TCP reset (RST) instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Records:
    """Splits a byte stream into whole TLS records (5-byte header + payload)."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 5:
            n = 5 + int.from_bytes(self.buf[3:5], "big")
            if len(self.buf) < n:
                break
            out.append(self.buf[:n])
            self.buf = self.buf[n:]
        return out


class _Conn:
    """One proxied connection; all of its I/O happens in one thread (no cross-thread close)."""

    def __init__(self, number, client, upstream):
        self.number = number
        self.client = client
        self.upstream = upstream
        self.exchange = None  # the exchange whose reply is awaited
        self.handshake_done = False  # the server sent ChangeCipherSpec + Finished
        self.server_ccs = False
        self.handshake_reset = None  # bytes of the server handshake to forward before a reset
        self.forwarded = 0  # server handshake bytes forwarded
        self.stalled = False
        self.dead = False

    def kill(self, reset=False):
        if self.dead:
            return
        self.dead = True
        (_reset if reset else _close)(self.client)
        _close(self.upstream)


def _wait_sent(sock, timeout=10):
    """Until the kernel has sent everything queued on `sock` (Linux TIOCOUTQ: unsent bytes) or
    `timeout` s pass: an event to wait on, where a fixed sleep is too short on a busy machine."""
    import fcntl
    import struct
    import termios

    deadline = time.monotonic() + timeout
    buf = bytearray(4)
    while time.monotonic() < deadline:
        try:
            fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buf)
        except OSError:
            return
        if struct.unpack("i", buf)[0] == 0:
            return
        time.sleep(0.002)


class FaultProxy:
    """Listens on 127.0.0.1:`port` (0: a free one), forwards to 127.0.0.1:`upstream_port`.

    `policy`: a Policy; `classify()` (optional) names the exchange whose reply just arrived (the
    test asks the dev server what it counted); `wrong_host`: an ssl.SSLContext (server side)
    with a certificate for another host, for the ("wrong_host",) fault. `base_url` is
    https://localhost:<port>, the name the dev server's certificate carries.
    """

    def __init__(self, upstream_port, policy=None, classify=None, wrong_host=None, port=0):
        self.upstream_port = upstream_port
        self.policy = policy or Policy()
        self.classify = classify
        self.wrong_host = wrong_host
        self.lock = threading.RLock()
        self.exchanges = []
        self.events = []  # (seconds since start, text): what the proxy did, for failure reports
        self.errors = []  # things the proxy could not follow (e.g. a TLS 1.3 handshake)
        self.impostor_bytes = 0  # application bytes the wrong-host server received (must be 0)
        self.connections = 0
        self._conns = []
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._refuse_until = 0.0
        self._refuse_for = None  # a refusal asked for, carried out by the accept thread
        self._refused = threading.Event()
        self._listener = None
        self.port = port
        self._listen()
        self.base_url = "https://localhost:%d" % self.port

    # -- life ---------------------------------------------------------------------------

    def __enter__(self):
        threading.Thread(target=self._accept_loop, name="faultproxy", daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Stop; the accept thread closes the listener and every connection's thread its
        sockets, each within 0.1 s."""
        self._stop.set()

    def new_run(self, policy=None):
        """Forget the exchanges (numbering restarts at 0) and optionally change the policy."""
        with self.lock:
            self.exchanges = []
            if policy is not None:
                self.policy = policy

    def note(self, text):
        with self.lock:
            self.events.append((round(time.monotonic() - self._started, 2), text))

    # -- listening and refusing ------------------------------------------------------------

    def _listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        s.settimeout(0.05)
        self.port = s.getsockname()[1]
        self._listener = s

    def refuse(self, seconds):
        """Stop listening for `seconds`: connection attempts are refused (ECONNREFUSED).

        The accept thread closes the listener itself (a close from here could leave it
        accepting for a moment); this returns once it is closed."""
        self._refused.clear()
        with self.lock:
            self._refuse_for = seconds
        if not self._refused.wait(5):
            raise RuntimeError("faultproxy: the listener did not close")
        self.note("refusing connections for %.1f s" % seconds)

    def wait_listening(self, timeout=10):
        """Block until the proxy listens (again); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self._listener is not None and self._refuse_for is None:
                    return True
            time.sleep(0.02)
        return False

    def _accept_loop(self):
        while not self._stop.is_set():
            with self.lock:
                if self._refuse_for is not None:
                    if self._listener is not None:
                        self._listener.close()
                        self._listener = None
                    self._refuse_until = time.monotonic() + self._refuse_for
                    self._refuse_for = None
                    self._refused.set()
                if self._listener is None and time.monotonic() >= self._refuse_until:
                    for _ in range(50):  # the port can linger a moment after close
                        try:
                            self._listen()
                            break
                        except OSError:
                            time.sleep(0.02)
                    self.note("listening again")
                listener = self._listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                client, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            client.settimeout(None)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()
        with self.lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    # -- one connection --------------------------------------------------------------------

    def _serve(self, client):
        with self.lock:
            number = self.connections
            self.connections += 1
        fault = self.policy.on_connection(self, number)
        if fault and fault[0] == "wrong_host":
            self.note("conn %d: answering with the wrong-host certificate" % number)
            return self._impostor(client)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError as e:
            self.errors.append("upstream connect failed: %s" % e)
            return _reset(client)
        for s in (client, upstream):
            s.settimeout(None)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(number, client, upstream)
        if fault and fault[0] == "handshake_reset":
            conn.handshake_reset = fault[1]
            self.note("conn %d: will reset after %d handshake bytes" % (number, fault[1]))
        with self.lock:
            self._conns.append(conn)
        try:
            self._relay(conn)
        except OSError:
            pass
        finally:
            conn.kill()
            with self.lock:
                if conn in self._conns:
                    self._conns.remove(conn)

    def _relay(self, conn):
        """Forward records both ways until either side closes or a fault ends the connection."""
        from_client, from_server = _Records(), _Records()
        while not conn.dead and not self._stop.is_set():
            ready, _, _ = select.select([conn.client, conn.upstream], [], [], 0.1)
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                if sock is conn.client:
                    for rec in from_client.feed(data):
                        self._from_client(conn, rec)
                else:
                    for rec in from_server.feed(data):
                        if conn.dead or not self._from_server(conn, rec):
                            return

    def _impostor(self, client):
        """Own TLS with a certificate for another host; count what arrives after a handshake."""
        client.settimeout(5)
        try:
            tls = self.wrong_host.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError) as e:
            self.note("impostor: the client broke off the handshake (%s)" % type(e).__name__)
            return _close(client)
        try:
            while True:
                data = tls.recv(4096)
                if not data:
                    break
                self.impostor_bytes += len(data)
        except (OSError, ssl.SSLError):
            pass
        _close(tls)

    def _from_client(self, conn, rec):
        if conn.stalled:
            return  # a dead link: nothing gets through, nothing comes back
        if rec[0] == APPDATA and conn.handshake_done and conn.exchange is None:
            with self.lock:
                ex = Exchange(len(self.exchanges), conn.number)
                self.exchanges.append(ex)
            conn.exchange = ex
            fault = self.policy.on_request(self, ex)
            if fault and fault[0] == "stall":
                ex.fault = fault
                conn.stalled = True
                self.note("conn %d: exchange %d (%s): stalled" % (conn.number, ex.index, ex.label))
                return
        conn.upstream.sendall(rec)

    def _from_server(self, conn, rec):
        """Forward one server record, applying faults; False when the connection is gone."""
        if not conn.handshake_done:
            return self._handshake_record(conn, rec)
        ex, conn.exchange = conn.exchange, None
        if rec[0] != APPDATA or ex is None:
            conn.client.sendall(rec)  # alerts, or a record nobody asked for
            return True
        ex.replied = True
        if self.classify is not None:
            ex.label = self.classify(ex) or ex.label
        fault = self.policy.on_reply(self, ex)
        if fault:
            ex.fault = fault
            self.note("conn %d: exchange %d (%s): %r" % (conn.number, ex.index, ex.label, fault))
            if not self._reply_fault(conn, rec, fault):
                return False
        else:
            conn.client.sendall(rec)
        after = self.policy.after_reply(self, ex)
        if after:
            self.note(
                "conn %d: after exchange %d (%s): %r" % (conn.number, ex.index, ex.label, after)
            )
            conn.kill()
            if after[0] == "refuse":
                self.refuse(after[1])
            return False
        return True

    def _handshake_record(self, conn, rec):
        """Forward one record of the server's handshake; False when the connection ended."""
        if conn.handshake_reset is not None:
            left = conn.handshake_reset - conn.forwarded
            if len(rec) >= left:
                conn.client.sendall(rec[:left])
                self.note(
                    "conn %d: reset after %d handshake bytes" % (conn.number, conn.handshake_reset)
                )
                conn.kill(reset=True)
                return False
        if conn.server_ccs:
            if rec[0] == HANDSHAKE:
                conn.handshake_done = True  # the server's Finished: application data follows
            elif rec[0] == APPDATA:
                self.errors.append("conn %d: not a TLS 1.2 handshake" % conn.number)
        if rec[0] == CCS:
            conn.server_ccs = True
        conn.client.sendall(rec)
        conn.forwarded += len(rec)
        return True

    def _reply_fault(self, conn, rec, fault):
        """Apply a reply fault to the record `rec`; False when the connection is gone."""
        kind = fault[0]
        if kind == "reset":
            conn.client.sendall(rec[: fault[1]])
            _wait_sent(conn.client)  # the bytes leave before the reset (which drops unsent ones)
            conn.kill(reset=True)
            return False
        if kind == "truncate":
            conn.client.sendall(rec[: len(rec) // 2])
            conn.kill()
            return False
        if kind == "corrupt":
            data = bytearray(rec)
            data[5 + (len(rec) - 5) // 2] ^= 0x5A  # a ciphertext byte: the record's MAC fails
            conn.client.sendall(bytes(data))
            return True
        if kind == "drip":
            count, period = fault[1], fault[2]
            for i in range(min(count, len(rec))):
                conn.client.sendall(rec[i : i + 1])
                time.sleep(period)
            conn.client.sendall(rec[count:])
            return True
        raise ValueError("unknown reply fault %r" % (fault,))

"""HTTPS server: TLS per connection thread, HTTP/1.1 keep-alive, counters."""

import socket
import ssl
import threading
import traceback

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0  # seconds a kept-alive connection may sit idle
MAX_DRAIN = 1 << 20  # request body bytes read and dropped so a connection can be reused


class _BodyReader:
    """wsgi.input limited to the request body, so what the app leaves can be drained after."""

    def __init__(self, stream, length):
        self._stream = stream
        self.remaining = length  # None: the stream ends itself (chunked)

    def _limit(self, size):
        if self.remaining is None:
            return size
        if size is None or size < 0 or size > self.remaining:
            return self.remaining
        return size

    def read(self, size=-1):
        if self.remaining == 0:
            return b""
        size = self._limit(size)
        data = self._stream.read() if size is None or size < 0 else self._stream.read(size)
        self._consumed(data)
        return data

    def readline(self, size=-1):
        if self.remaining == 0:
            return b""
        size = self._limit(size)
        data = self._stream.readline(-1 if size is None else size)
        self._consumed(data)
        return data

    def _consumed(self, data):
        if self.remaining is not None:
            self.remaining = 0 if not data else self.remaining - len(data)
        elif not data:
            self.remaining = 0

    def drain(self, limit=MAX_DRAIN):
        """Read and drop the rest; False if that was too much or the stream broke."""
        total = 0
        try:
            while self.remaining != 0:
                if total > limit:
                    return False
                data = self.read(65536)
                if not data:
                    break
                total += len(data)
        except (OSError, ValueError):
            return False
        return True


class _Handler(WSGIRequestHandler):
    """werkzeug's handler with the TLS handshake in the connection's own thread, keep-alive
    (every response has a Content-Length; werkzeug 3 always sends "Connection: close"),
    the peer certificate in the environ, counters and a log line per request."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def setup(self):
        srv = self.server
        self.store = srv.store
        self.conn_id = self.store.count("connections")
        self.tls = None
        raw = self.request
        try:
            raw.settimeout(HANDSHAKE_TIMEOUT)
            tls = srv.ssl_context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        except OSError:
            raw.close()
            return
        if not srv.track(self, tls):  # shutting down
            tls.close()
            return
        try:
            tls.do_handshake()
        except (OSError, ValueError) as exc:
            self.store.count("tls_handshake_failures")
            self.store.log(f"conn {self.conn_id}: TLS handshake failed: {exc}")
            srv.untrack(self)
            tls.close()
            return
        self.store.count("tls_handshakes")
        try:
            tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.tls = self.request = tls
        super().setup()

    def handle(self):
        if self.tls is not None:
            super().handle()

    def finish(self):
        if self.tls is None:
            return
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self)
            tls, self.tls = self.tls, None
            try:  # send close_notify, without waiting for the peer's
                tls.setblocking(False)
                tls.unwrap()
            except (OSError, ValueError):
                pass
            tls.close()

    def make_environ(self):
        environ = super().make_environ()
        try:
            der = self.connection.getpeercert(binary_form=True)
        except (AttributeError, ValueError):
            der = None
        environ["devauth.peer_cert_der"] = der
        environ["devauth.connection"] = self.conn_id
        environ["devauth.listener"] = self.server.listener
        return environ

    def run_wsgi(self):
        self.store.count("requests")
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        body_reader = self._body_reader(environ)
        if body_reader is None:
            self._respond("400 Bad Request", [("Content-Type", "text/plain")], b"Bad Request\n")
            self.close_connection = True
            return
        environ["wsgi.input"] = body_reader

        started = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = status, headers
            return chunks.append

        chunks = []
        try:
            app_iter = self.server.app(environ, start_response)
            try:
                for data in app_iter:
                    chunks.append(data)
            finally:
                if hasattr(app_iter, "close"):
                    app_iter.close()
            status, headers = started["status"], started["headers"]
        except Exception:
            self.store.log(f"conn {self.conn_id}: error:\n{traceback.format_exc()}")
            status, headers = "500 Internal Server Error", [("Content-Type", "text/plain")]
            chunks = [b"Internal Server Error\n"]
        drained = body_reader.drain()
        raw = environ.get("devauth.raw_response")
        if raw is not None:  # the API's drip and drop faults write the reply themselves
            self.close_connection = True
            try:
                raw(self.connection)
            except OSError:
                pass
            self.store.log(f"conn {self.conn_id}: {self.command} {self.path.split('?')[0]} -> raw")
            return
        self._respond(status, headers, b"".join(chunks))
        if not drained:
            self.close_connection = True

    def _body_reader(self, environ):
        if environ.get("wsgi.input_terminated"):  # chunked, werkzeug de-chunks
            return _BodyReader(environ["wsgi.input"], None)
        length = environ.get("CONTENT_LENGTH", "").strip()
        if not length:
            return _BodyReader(self.rfile, 0)
        if not (length.isascii() and length.isdigit()):  # "\xb2".isdigit() is true
            return None
        return _BodyReader(self.rfile, int(length))

    def _respond(self, status, headers, body):
        opts = self.store.opts
        code_str, _, reason = status.partition(" ")
        code = int(code_str)
        head = self.command == "HEAD"
        self.send_response(code, reason)
        has_length = False
        for key, value in headers:
            lower = key.lower()
            if lower in ("connection", "keep-alive", "transfer-encoding"):
                continue
            if lower == "content-length":
                if not head:
                    continue
                has_length = True
            self.send_header(key, value)
        if not (head and has_length) and code >= 200 and code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        client_wants_close = self.close_connection
        if opts["no_keep_alive"] or client_wants_close:
            self.send_header("Connection", "close")  # also sets close_connection
        elif opts["close_after_response"]:
            self.close_connection = True  # like an idle timeout: no header, just close
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        # head and body in one write: one TLS record, no Nagle/delayed-ACK stall between them
        self._headers_buffer.append(b"\r\n")
        if not head:
            self._headers_buffer.append(body)
        self.flush_headers()
        note = self.environ.get("devauth.note") if getattr(self, "environ", None) else None
        path = self.path.split("?", 1)[0]
        line = f"{self.server.log_prefix}conn {self.conn_id}: {self.command} {path} -> {code}"
        self.store.log(line + (f" ({note})" if note else ""))

    def log_request(self, code="-", size="-"):
        pass  # one line per request from _respond, without the query string

    def log_error(self, format, *args):
        self.store.log(f"conn {getattr(self, 'conn_id', '?')}: " + (format % args))

    def log_message(self, format, *args):
        self.log_error(format, *args)


class _Server(ThreadedWSGIServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the connection threads

    def __init__(self, host, port, app, store, ssl_context, listener="main"):
        self.store = store
        self.listener = listener  # "main", or "mtls": the listener that requires a certificate
        self.log_prefix = "" if listener == "main" else listener + " "
        self._live = {}
        self._live_lock = threading.Lock()
        self._closing = False
        super().__init__(host, port, app, handler=_Handler)
        # TLS is done per connection in _Handler.setup (not in the accept loop); werkzeug
        # reads ssl_context to know the URL scheme is https.
        self.ssl_context = ssl_context

    def track(self, handler, sock):
        with self._live_lock:
            if self._closing:
                return False
            self._live[handler] = sock
            return True

    def untrack(self, handler):
        with self._live_lock:
            self._live.pop(handler, None)

    def close_connections(self):
        with self._live_lock:
            self._closing = True
            for sock in self._live.values():
                try:  # the plain socket's shutdown: wakes the thread blocked reading it
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass


def make_tls_context(pki, require_client_cert=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki["server_pem"], pki["server_key"])
    ctx.load_verify_locations(cafile=pki["client_ca_pem"])
    # ask for a client certificate (tls_client_auth); the mTLS listener insists on one
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return ctx


def _url(host, port):
    return f"https://{'[' + host + ']' if ':' in host else host}:{port}"

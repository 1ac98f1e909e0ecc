"""mif: choose the provisioning domain (PvD) of a socket or a name lookup from Python.

A ctypes binding of the C API <mif/mif.h> (libmif-api.so.0; docs/api.md), so a script
can do what an Android app does with android_setsocknetwork:

    import socket, mif
    s = socket.socket()
    mif.socket_set_pvd(s, "vpn")          # leaves through the VPN, with its source
    for family, type_, proto, _, addr in mif.getaddrinfo("vpn", "wiki.corp.example", 443):
        ...

It works without `mif run` (the library loads the policy and the live view itself) and
inside it (then it uses the interposer's own state). Errors: OSError (MifError) with the
errno of the C function and mif_strerror's message, which names the PvD; getaddrinfo
raises socket.gaierror as socket.getaddrinfo does.
"""

import ctypes
import errno as _errno
import os
import socket as _socket

from . import _paths

__all__ = [
    "MifError", "api_version", "socket_set_pvd", "getaddrinfo", "process_set_pvd",
    "process_get_pvd", "pvd_list", "view_generation", "Pvd",
    "PVD_PRESENT", "PVD_IPV4", "PVD_IPV6", "PVD_ADHOC", "PVD_DEGRADED", "PVD_FAILED",
]

PVD_PRESENT, PVD_IPV4, PVD_IPV6, PVD_ADHOC = 0x1, 0x2, 0x4, 0x8
PVD_DEGRADED, PVD_FAILED = 0x10, 0x20  # inside `mif run`: what the process's traffic said
_NAME_MAX, _MAX_ADDRS, _MAX_DNS = 64, 8, 4


def _load():
    tried = []
    env = os.environ.get("MIF_API_LIBRARY")
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [env] if env else []
    if _paths.LIBRARY:
        candidates.append(os.path.normpath(os.path.join(here, _paths.LIBRARY)))
    candidates.append("libmif-api.so.0")
    for path in candidates:
        try:
            return ctypes.CDLL(path, use_errno=True)
        except OSError as e:
            tried.append(str(e))
    raise ImportError("mif: cannot load libmif-api.so.0: " + "; ".join(tried))


_lib = _load()


class _Addr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_int), ("addr", ctypes.c_ubyte * 16)]


class _Pvd(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * _NAME_MAX), ("ifname", ctypes.c_char * 16),
        ("ifindex", ctypes.c_uint), ("flags", ctypes.c_uint),
        ("n_addrs", ctypes.c_uint), ("addrs", _Addr * _MAX_ADDRS),
        ("n_dns", ctypes.c_uint), ("dns", _Addr * _MAX_DNS),
        ("generation", ctypes.c_uint64),
    ]


class _AddrInfo(ctypes.Structure):
    pass


_AddrInfo._fields_ = [
    ("ai_flags", ctypes.c_int), ("ai_family", ctypes.c_int), ("ai_socktype", ctypes.c_int),
    ("ai_protocol", ctypes.c_int), ("ai_addrlen", ctypes.c_uint32),
    ("ai_addr", ctypes.c_void_p), ("ai_canonname", ctypes.c_char_p),
    ("ai_next", ctypes.POINTER(_AddrInfo)),
]

_lib.mif_api_version.restype = ctypes.c_int
_lib.mif_socket_set_pvd.argtypes = [ctypes.c_int, ctypes.c_char_p]
_lib.mif_getaddrinfo.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                 ctypes.POINTER(_AddrInfo), ctypes.POINTER(ctypes.POINTER(_AddrInfo))]
_lib.mif_freeaddrinfo.argtypes = [ctypes.POINTER(_AddrInfo)]
_lib.mif_freeaddrinfo.restype = None
_lib.mif_process_set_pvd.argtypes = [ctypes.c_char_p]
_lib.mif_process_get_pvd.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_lib.mif_pvd_list.argtypes = [ctypes.POINTER(_Pvd), ctypes.c_size_t]
_lib.mif_view_generation.restype = ctypes.c_uint64
_lib.mif_strerror.argtypes = [ctypes.c_int]
_lib.mif_strerror.restype = ctypes.c_char_p


class MifError(OSError):
    """A failure of the C API: errno and mif_strerror's message (it names the PvD)."""


def _name(pvd):
    if pvd is None:
        return None
    return pvd.encode() if isinstance(pvd, str) else bytes(pvd)


def _raise(err):
    raise MifError(err, _lib.mif_strerror(err).decode(errors="surrogateescape"))


def api_version():
    """The library's MIF_API_VERSION: major << 16 | minor."""
    return _lib.mif_api_version()


def socket_set_pvd(sock, pvd):
    """Pins a socket (a socket.socket or a descriptor) to a PvD: a policy PvD's name or an
    interface. None unpins. Raises MifError (ENOENT, ENETDOWN, EAFNOSUPPORT, ...)."""
    fd = sock if isinstance(sock, int) else sock.fileno()
    if _lib.mif_socket_set_pvd(fd, _name(pvd)) != 0:
        _raise(ctypes.get_errno())


def _sockaddr(family, ptr, length):
    raw = ctypes.string_at(ptr, length)
    port = int.from_bytes(raw[2:4], "big")
    if family == _socket.AF_INET:
        return (_socket.inet_ntop(_socket.AF_INET, raw[4:8]), port)
    flowinfo = int.from_bytes(raw[4:8], "big")
    scope = int.from_bytes(raw[24:28], "little")
    return (_socket.inet_ntop(_socket.AF_INET6, raw[8:24]), port, flowinfo, scope)


def getaddrinfo(pvd, host, port=None, family=0, type=0, proto=0, flags=0):
    """socket.getaddrinfo through the DNS servers of one PvD only (None: the process
    default, else the system resolver). Same result shape as socket.getaddrinfo."""
    hints = _AddrInfo()
    hints.ai_flags, hints.ai_family, hints.ai_socktype, hints.ai_protocol = flags, family, type, proto
    service = None if port is None else str(port).encode()
    node = None if host is None else (host.encode("idna") if isinstance(host, str) else bytes(host))
    res = ctypes.POINTER(_AddrInfo)()
    rc = _lib.mif_getaddrinfo(_name(pvd), node, service, ctypes.byref(hints), ctypes.byref(res))
    if rc != 0:
        err = ctypes.get_errno()
        message = _lib.mif_strerror(rc).decode(errors="surrogateescape")
        if rc == _socket.EAI_SYSTEM:
            raise MifError(err, message)
        raise _socket.gaierror(rc, message)
    out = []
    try:
        node_p = res
        while node_p:
            ai = node_p.contents
            if ai.ai_family in (_socket.AF_INET, _socket.AF_INET6):
                canon = ai.ai_canonname.decode() if ai.ai_canonname else ""
                out.append((_socket.AddressFamily(ai.ai_family), _socket.SocketKind(ai.ai_socktype),
                            ai.ai_protocol, canon, _sockaddr(ai.ai_family, ai.ai_addr, ai.ai_addrlen)))
            node_p = ai.ai_next
    finally:
        _lib.mif_freeaddrinfo(res)
    return out


def process_set_pvd(pvd):
    """The process's default PvD (None: back to the policy). Inside `mif run` it moves every
    new socket and lookup of the process; without it, mif's own getaddrinfo(None, ...)."""
    if _lib.mif_process_set_pvd(_name(pvd)) != 0:
        _raise(ctypes.get_errno())


def process_get_pvd():
    """The process's default PvD, or "" when there is none."""
    buf = ctypes.create_string_buffer(_NAME_MAX)
    _lib.mif_process_get_pvd(buf, len(buf))
    return buf.value.decode()


class Pvd(tuple):
    """One PvD of the live view: name, ifname, ifindex, flags, addresses, dns, generation;
    present, usable, health ("usable", "degraded", "failed": inside `mif run`)."""
    __slots__ = ()
    _fields = ("name", "ifname", "ifindex", "flags", "addresses", "dns", "generation")

    def __new__(cls, *values):
        return tuple.__new__(cls, values)

    name = property(lambda s: s[0])
    ifname = property(lambda s: s[1])
    ifindex = property(lambda s: s[2])
    flags = property(lambda s: s[3])
    addresses = property(lambda s: s[4])
    dns = property(lambda s: s[5])
    generation = property(lambda s: s[6])
    present = property(lambda s: bool(s[3] & PVD_PRESENT))
    usable = property(lambda s: bool(s[3] & (PVD_IPV4 | PVD_IPV6)))
    health = property(lambda s: "failed" if s[3] & PVD_FAILED
                      else "degraded" if s[3] & PVD_DEGRADED else "usable")

    def __repr__(self):
        return "Pvd(" + ", ".join("%s=%r" % kv for kv in zip(self._fields, self)) + ")"


def _addr(a):
    if a.family == _socket.AF_INET:
        return _socket.inet_ntop(_socket.AF_INET, bytes(a.addr[:4]))
    return _socket.inet_ntop(_socket.AF_INET6, bytes(a.addr))


def pvd_list():
    """The PvDs of the live view, policy PvDs first (a list of Pvd)."""
    n = _lib.mif_pvd_list(None, 0)
    while True:
        if n < 0:
            _raise(ctypes.get_errno())
        arr = (_Pvd * max(n, 1))()
        m = _lib.mif_pvd_list(arr, n)
        if m <= n:
            break
        n = m
    return [Pvd(p.name.decode(), p.ifname.decode(), p.ifindex, p.flags,
                [_addr(p.addrs[i]) for i in range(p.n_addrs)],
                [_addr(p.dns[i]) for i in range(p.n_dns)], p.generation)
            for p in arr[:m]]


def view_generation():
    """Increases whenever the view changes: poll it and call pvd_list() again."""
    return _lib.mif_view_generation()


# errno names a caller may want without importing errno.
ENOENT, ENETDOWN, EPERM = _errno.ENOENT, _errno.ENETDOWN, _errno.EPERM

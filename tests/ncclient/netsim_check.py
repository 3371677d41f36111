#!/usr/bin/env python3
"""Checks a simulated Ferrule device with ncclient, a NETCONF client Ferrule did not write.

Usage: netsim_check.py HOST PORT FINGERPRINT

Connects as admin/admin (pinning nothing: ncclient reads known_hosts, which a test does not
have, so host key checking is off and the fingerprint is compared by hand), then: edits the
candidate, commits, reads it back; makes a confirmed commit and polls until its timeout rolls it back;
gets lock-denied from a second session; gets an rpc-error for a create of an existing entry.
Prints one line per check and exits non-zero on the first failure.
"""

import base64
import hashlib
import sys
import time

from ncclient import manager
from ncclient.operations import RPCError

IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"


def subif(name, operation=None):
    op = (
        ' xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="%s"' % operation
        if operation
        else ""
    )
    return (
        '<config><interfaces xmlns="%s"><interface%s><name>%s</name>'
        "<description>cust c sub s 100/20 Mbps</description>"
        '<type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:l2vlan</type>'
        "<enabled>true</enabled></interface></interfaces></config>" % (IF_NS, op, name)
    )


def connect(host, port):
    return manager.connect(
        host=host,
        port=port,
        username="admin",
        password="admin",
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
    )


def running(m):
    return m.get_config(source="running").data_xml


DEADLINE = 30.0


def eventually(condition, deadline=DEADLINE, interval=0.1):
    """Polls `condition` until it holds (True) or `deadline` seconds pass (False)."""
    end = time.monotonic() + deadline
    while True:
        if condition():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(interval)


def check(name, condition, detail=""):
    if not condition:
        print("FAIL %s %s" % (name, detail))
        sys.exit(1)
    print("ok   %s" % name)


def main():
    host, port, fingerprint = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    m = connect(host, port)
    key = m._session._transport.get_remote_server_key()
    seen = "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    check("host key fingerprint", seen == fingerprint, "%s != %s" % (seen, fingerprint))
    caps = list(m.server_capabilities)
    check("candidate capability", ":candidate" in " ".join(caps))
    check("confirmed-commit:1.1", any("confirmed-commit:1.1" in c for c in caps))
    check("session id", int(m.session_id) > 0)

    m.lock(target="candidate")
    m.edit_config(target="candidate", config=subif("ge-0/0/1.100"))
    m.commit()
    m.unlock(target="candidate")
    check("edit + commit", "ge-0/0/1.100" in running(m))

    state = m.get(filter=("subtree", '<interfaces-state xmlns="%s"/>' % IF_NS)).data_xml
    check("interface state", "oper-status" in state and "ge-0/0/1.100" in state, state)

    m.edit_config(target="candidate", config=subif("ge-0/0/1.200"))
    m.commit(confirmed=True, timeout="1")
    check("confirmed commit applied", "ge-0/0/1.200" in running(m))
    check(
        "confirmed commit rolled back",
        eventually(lambda: "ge-0/0/1.200" not in running(m)),
        "still in running %.0f s after the 1 s confirm timeout" % DEADLINE,
    )

    m.lock(target="candidate")
    other = connect(host, port)
    try:
        other.lock(target="candidate")
        check("lock-denied", False, "second lock succeeded")
    except RPCError as e:
        check("lock-denied", e.tag == "lock-denied", e.tag)
        check("lock-denied names the holder", str(m.session_id) in (e.info or ""), e.info)
    other.close_session()
    m.unlock(target="candidate")

    try:
        m.edit_config(target="candidate", config=subif("ge-0/0/1.100", "create"))
        check("rpc-error data-exists", False, "create of an existing entry succeeded")
    except RPCError as e:
        check("rpc-error data-exists", e.tag == "data-exists", e.tag)
        check("rpc-error type", e.type == "application", e.type)
        check("rpc-error path", "ge-0/0/1.100" in (e.path or ""), e.path)
        check("rpc-error message", bool(e.message), e.message)
    m.close_session()
    print("all checks passed")


if __name__ == "__main__":
    main()

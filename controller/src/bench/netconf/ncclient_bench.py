"""ncclient side of `ferrule bench netconf`: the same measurements as the Rust side.

Prints one JSON object: {"setup_ms": [...], "pairs": N, "pairs_seconds": S}.
Session setup is connect + authenticate + hello + one <discard-changes/> reply, with
public key authentication and the host key pinned, like the other clients.
"""

import argparse
import json
import time

import ncclient.transport.session as nc_session
from ncclient import manager

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--host-key-b64", required=True)
    p.add_argument("--setups", type=int, required=True)
    p.add_argument("--pairs", type=int, required=True)
    p.add_argument("--tick", type=float, default=None,
                   help="replace ncclient's 100 ms session poll interval (seconds)")
    p.add_argument("--config", required=True,
                   help="edit payload with {i} where the pair number goes")
    p.add_argument("--cleanup", required=True, help="payload run once at the end")
    return p.parse_args()


def connect(args):
    return manager.connect(
        host=args.host,
        port=args.port,
        username=args.user,
        key_filename=args.key,
        hostkey_verify=True,
        hostkey_b64=args.host_key_b64,
        allow_agent=False,
        look_for_keys=False,
        device_params={"name": "default"},
    )


def config(payload):
    return '<config xmlns="%s">%s</config>' % (BASE, payload)


def main():
    args = parse_args()
    if args.tick is not None:
        nc_session.TICK = args.tick
    setups = []
    for _ in range(args.setups):
        start = time.perf_counter()
        m = connect(args)
        m.discard_changes()
        setups.append((time.perf_counter() - start) * 1000.0)
        m.close_session()
    m = connect(args)
    m.discard_changes()
    start = time.perf_counter()
    for i in range(args.pairs):
        m.edit_config(target="candidate", config=config(args.config.replace("{i}", str(i))))
        m.commit()
    seconds = time.perf_counter() - start
    m.edit_config(target="candidate", config=config(args.cleanup))
    m.commit()
    m.close_session()
    print(json.dumps({"setup_ms": setups, "pairs": args.pairs, "pairs_seconds": seconds}))


if __name__ == "__main__":
    main()

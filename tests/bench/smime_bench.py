#!/usr/bin/env python3
"""S/MIME on a large message: Keyfence against `openssl cms` and the hashing floor.

Generates one message (default 1 GiB; --size or KEYFENCE_BENCH_SIZE, e.g. 256M) in a temporary
directory, then signs and verifies it (multipart/signed, and opaque signed-data: "-o"), encrypts
and decrypts it, decrypts the signed message encrypted and verifies it ("decrypt+v") with the SoftHSM RSA-2048 key of the test template, once with Keyfence and once with `openssl cms` (through libp11's pkcs11 engine,
the same token key: no software copy), and hashes it with `openssl dgst -sha256` (the floor:
the content must be hashed once). Prints wall time, the ratios and the peak RSS of each child
(wait4's ru_maxrss, through GNU time). Everything is measured in this run, on the same file and key; the
directory is removed at the end. --rounds N runs every command N times, Keyfence and openssl
alternating, and keeps the fastest of each (the machine is shared: one run can land in another
process's burst). Each command's input is read once before it runs, so that it comes from the
page cache as the floor's does. --ops names the operations to run.

    tests/bench/smime_bench.py --keyfence build/bench/cli/keyfence \
        --template build/bench/softhsm-template [--size 1G] [--rounds 3] [--ops "sign,sign -o"]
(./scripts/bench runs it.)
"""
import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
ENGINE = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so"
KEY = "pkcs11:token=test-token;object=rsa2048"
PIN = "123456"


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("IB")
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def make_message(path, size):
    """A text part and a base64 attachment, `size` bytes in all (within a line)."""
    head = (
        "From: Test rsa2048 <rsa2048@example.org>\nTo: bob@example.org\nSubject: large\n"
        "Date: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
        "Content-Type: text/plain\n\nThe attachment follows.\nFrom here on it is large.\n"
        "--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
        'Content-Disposition: attachment; filename="data.bin"\n\n'
    ).encode()
    tail = b"--b1--\n"
    body = size - len(head) - len(tail)
    raw_per_block = 57 * 16384  # 57 bytes = one 76-character base64 line
    with open(path, "wb") as f:
        f.write(head)
        written = 0
        seed = os.urandom(raw_per_block)
        while written < body:
            block = base64.encodebytes(seed)[: body - written]
            f.write(block)
            written += len(block)
            seed = seed[1:] + seed[:1]
        if not block.endswith(b"\n"):
            f.write(b"\n")
        f.write(tail)


def run(argv, env, pin=False):
    """Runs argv under GNU time; returns (seconds, peak RSS in MiB). Exits on failure.

    GNU time reports the child's own ru_maxrss (wait4): a child forked from this Python
    process would start with Python's resident pages counted."""
    read_fd = None
    pass_fds = ()
    if pin:
        read_fd, write_fd = os.pipe()
        os.write(write_fd, (PIN + "\n").encode())
        os.close(write_fd)
        pass_fds = (read_fd,)
        argv = [argv[0], "--pin-fd", str(read_fd)] + argv[1:]
    with tempfile.NamedTemporaryFile("r") as report:
        timed = ["/usr/bin/time", "-f", "%e %M", "-o", report.name] + argv
        start = time.monotonic()
        proc = subprocess.run(timed, env=env, pass_fds=pass_fds, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        seconds = time.monotonic() - start
        if read_fd is not None:
            os.close(read_fd)
        if proc.returncode != 0:
            sys.exit("failed (%d): %s\n%s" % (proc.returncode, " ".join(argv),
                                               proc.stderr.decode()))
        rss_kib = int(report.read().split()[-1])
    return seconds, rss_kib / 1024.0


def best_of(rounds, *runs):
    """Runs each of `runs` (argument-less callables returning (seconds, MiB)) `rounds` times,
    alternating, and returns the fastest of each (with that run's RSS): on a shared machine a
    single run can land in another process's burst."""
    best = [None] * len(runs)
    for _ in range(rounds):
        for i, r in enumerate(runs):
            t = r()
            if best[i] is None or t[0] < best[i][0]:
                best[i] = t
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keyfence", required=True)
    ap.add_argument("--template", required=True, help="make-softhsm-template.sh output")
    ap.add_argument("--size", default=os.environ.get("KEYFENCE_BENCH_SIZE", "1G"))
    ap.add_argument("--ops", default="",
                    help="comma-separated operations to run (default: all), e.g. 'sign,sign -o'")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run each command this many times, alternating, and keep the fastest")
    args = ap.parse_args()
    size = parse_size(args.size)
    keyfence = os.path.abspath(args.keyfence)
    work = tempfile.mkdtemp(prefix="smime-bench-")
    try:
        shutil.copytree(os.path.join(args.template, "tokens"), os.path.join(work, "tokens"))
        certs = os.path.join(args.template, "certs")
        cert, ca = os.path.join(certs, "rsa2048.pem"), os.path.join(certs, "ca.pem")
        conf = os.path.join(work, "softhsm2.conf")
        with open(conf, "w") as f:
            f.write("directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n" % work)
        cnf = os.path.join(work, "openssl-pkcs11.cnf")
        with open(cnf, "w") as f:
            f.write("openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n"
                    "[engine_section]\npkcs11 = pkcs11_section\n[pkcs11_section]\n"
                    "engine_id = pkcs11\ndynamic_path = %s\nMODULE_PATH = %s\ninit = 0\n"
                    % (ENGINE, SOFTHSM))
        env = dict(os.environ, SOFTHSM2_CONF=conf, XDG_STATE_HOME=work + "/state",
                   XDG_CONFIG_HOME=work + "/config", XDG_DATA_HOME=work + "/data",
                   TMPDIR=work)
        peer_env = dict(env, OPENSSL_CONF=cnf)
        msg = os.path.join(work, "msg.eml")
        make_message(msg, size)
        p = lambda name: os.path.join(work, name)
        kf = [keyfence, "--no-p11-kit", "--module", SOFTHSM]
        # The peer reaches the token key through the engine; the PIN in the URI is test tooling.
        peer_key = ["-engine", "pkcs11", "-keyform", "engine", "-inkey",
                    KEY + ";type=private;pin-value=" + PIN]

        commands = [
            ("sign",
             lambda: run(kf + ["smime", "sign", "--key", KEY, "--in", msg, "--out", p("kf.signed")],
                 env, pin=True),
             lambda: run(["openssl", "cms", "-sign", "-stream", "-binary", "-signer", cert] + peer_key
                 + ["-in", msg, "-out", p("ossl.signed")], peer_env)),
            ("verify",
             lambda: run(kf + ["smime", "verify", "--ca", ca, "--in", p("kf.signed")], env),
             lambda: run(["openssl", "cms", "-verify", "-CAfile", ca, "-in", p("kf.signed"),
                  "-out", "/dev/null"], env)),
            ("sign -o",
             lambda: run(kf + ["smime", "sign", "--opaque", "--key", KEY, "--in", msg, "--out",
                       p("kf.opaque")], env, pin=True),
             lambda: run(["openssl", "cms", "-sign", "-nodetach", "-stream", "-binary", "-signer", cert]
                 + peer_key + ["-in", msg, "-out", p("ossl.opaque")], peer_env)),
            ("verify -o",
             lambda: run(kf + ["smime", "verify", "--ca", ca, "--in", p("kf.opaque")], env),
             lambda: run(["openssl", "cms", "-verify", "-CAfile", ca, "-in", p("kf.opaque"),
                  "-out", "/dev/null"], env)),
            ("encrypt",
             lambda: run(kf + ["smime", "encrypt", "--to", cert, "--in", msg, "--out", p("kf.sealed")],
                 env),
             lambda: run(["openssl", "cms", "-encrypt", "-aes-256-gcm", "-stream", "-binary", "-in", msg,
                  "-out", p("ossl.sealed"), cert], env)),
            ("decrypt",
             lambda: run(kf + ["smime", "decrypt", "--key", KEY, "--in", p("kf.sealed"), "--out",
                       p("kf.opened")], env, pin=True),
             lambda: run(["openssl", "cms", "-decrypt", "-binary", "-recip", cert] + peer_key
                 + ["-in", p("kf.sealed"), "-out", p("ossl.opened")], peer_env)),
        ]
        # Signed, then encrypted: decrypted and the signature inside verified in one call
        # (the peer: openssl cms -decrypt, then -verify of what it wrote). The sealed input is
        # made once, from Keyfence's signed message, before the first timed run.
        def decrypt_verify():
            if not os.path.exists(p("kf.signed.sealed")):
                run(kf + ["smime", "encrypt", "--to", cert, "--in", p("kf.signed"), "--out",
                          p("kf.signed.sealed")], env)
            return run(kf + ["smime", "decrypt", "--key", KEY, "--ca", ca, "--in",
                             p("kf.signed.sealed"), "--out", p("kf.signed.opened")], env,
                       pin=True)

        commands.append(
            ("decrypt+v", decrypt_verify,
             lambda: run(["sh", "-c", " ".join(
                 ["openssl", "cms", "-decrypt", "-binary", "-recip", cert] + peer_key[:-1]
                 + ["'%s'" % peer_key[-1], "-in", p("kf.signed.sealed"), "-out",
                    p("ossl.signed.opened"), "&&", "openssl", "cms", "-verify", "-CAfile", ca,
                    "-in", p("ossl.signed.opened"), "-out", "/dev/null"])], peer_env)))
        # The floor: the fastest of its runs before the operations and, with rounds, after.
        floor_run = lambda: run(["openssl", "dgst", "-sha256", msg], env)
        rows = []
        floor, floor_rss = best_of(args.rounds, floor_run)[0]
        # Every timed command reads its input from the page cache, as the floor reads the
        # message: the write-behind writes large outputs with O_DIRECT (base/atomic_output.hpp),
        # so the signed or sealed file is not cached when the next command reads it.
        inputs = {"verify": "kf.signed", "verify -o": "kf.opaque", "decrypt": "kf.sealed",
                  "decrypt+v": "kf.signed.sealed"}

        # With --ops, an input another operation makes is made once, unmeasured.
        makers = {"verify": "sign", "verify -o": "sign -o", "decrypt": "encrypt",
                  "decrypt+v": "sign"}
        ours_of = {c[0]: c[1] for c in commands}

        def warm(op, command):
            def warmed():
                name = p(inputs[op]) if op in inputs else msg
                made = p("kf.signed") if op == "decrypt+v" else name
                if op in makers and not os.path.exists(made):
                    ours_of[makers[op]]()
                if os.path.exists(name):
                    with open(name, "rb") as f:
                        while f.read(1 << 20):
                            pass
                return command()
            return warmed

        chosen = [op for op in args.ops.split(",") if op]
        unknown = [op for op in chosen if op not in [c[0] for c in commands]]
        if unknown:
            sys.exit("unknown operation(s): %s; known: %s" % (
                ", ".join(unknown), ", ".join(c[0] for c in commands)))
        for op, ours, theirs in commands:
            if chosen and op not in chosen:
                continue
            rows.append((op, *best_of(args.rounds, warm(op, ours), warm(op, theirs))))
        if args.rounds > 1:
            floor, floor_rss = min((floor, floor_rss), best_of(args.rounds, floor_run)[0])
        print("message: %.0f MiB; floor: openssl dgst -sha256 %.2f s (%.1f MiB RSS); fastest of "
              "%d round(s)" % (size / 2**20, floor, floor_rss, args.rounds))
        print("%-9s %10s %10s %8s %9s %12s %12s" % ("op", "keyfence", "openssl", "kf/ossl",
                                                     "kf/floor", "kf RSS MiB", "ossl RSS MiB"))
        for op, (kt, krss), (ot, orss) in rows:
            print("%-9s %9.2fs %9.2fs %8.2f %9.2f %12.1f %12.1f"
                  % (op, kt, ot, kt / ot, kt / floor, krss, orss))
        print("peers: openssl cms -sign/-decrypt use the token key through libp11's pkcs11 "
              "engine; verify checks Keyfence's signed message; \"-o\": opaque signed-data "
              "(sign --opaque, openssl cms -sign -nodetach); decrypt opens Keyfence's "
              "AES-256-GCM message (both tools); \"decrypt+v\": the signed message encrypted, "
              "decrypted and its signature verified (Keyfence in one call; openssl cms "
              "-decrypt, then -verify); each command's input is read once "
              "before it runs, so that it comes from the page cache as the floor's does")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

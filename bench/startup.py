"""Start-up cost: `import amazon_ads_auth` (and `from amazon_ads_auth import AdsAuth`, what
a script with `auth=` imports) against `import requests, httpx`, and the
`amazon-ads-auth token` command with a valid stored token, as whole processes.

    python bench/startup.py [--runs 15]

The two imports run in turns (A B A B ...), so drift hits both alike; it prints the median
wall time of each and the median of the paired ratios. The token command runs against a
temporary HOME holding one login with a valid access token, so it makes no token request.
Python's bytecode cache is written first (`compileall`): with PYTHONDONTWRITEBYTECODE set,
every run would otherwise compile the package anew.
"""

from __future__ import annotations

import argparse
import compileall
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def wall(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    compileall.compile_dir(str(ROOT / "amazon_ads_auth"), quiet=1)
    theirs = [sys.executable, "-c", "import requests, httpx"]
    for label, code in (
        ("import amazon_ads_auth", "import amazon_ads_auth"),
        ("a script with auth=", "import requests, httpx; from amazon_ads_auth import AdsAuth"),
    ):
        ours = [sys.executable, "-c", code]
        wall(ours), wall(theirs)  # warm the file cache
        pairs = [(wall(ours), wall(theirs)) for _ in range(args.runs)]
        a = statistics.median(p[0] for p in pairs)
        b = statistics.median(p[1] for p in pairs)
        ratio = statistics.median(p[0] / p[1] for p in pairs)
        print(f"{label:26} {a * 1000:6.0f} ms (median of {args.runs})")
        print(f"{'import requests, httpx':26} {b * 1000:6.0f} ms")
        print(f"{'ratio (median of pairs)':26} {ratio:6.2f}  (goal: at most 1.15)")
    with tempfile.TemporaryDirectory() as home:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AMAZON_ADS_", "XDG_"))},
            "HOME": home,
        }
        seed = (
            "import time\n"
            "from amazon_ads_auth import FileTokenStore, Token\n"
            "from amazon_ads_auth._logins.records import Login, save_login\n"
            "store = FileTokenStore()\n"
            "key = 'amzn1.application-oa2-client.bench/default'\n"
            "store.save(key, Token('Atza|' + 'a' * 400, 'Atzr|r', time.time() + 3000))\n"
            "save_login(store, Login('amzn1.application-oa2-client.bench', 'default',\n"
            "    client_secret='bench-secret'))\n"
        )
        subprocess.run([sys.executable, "-c", seed], check=True, env=env)
        token = [sys.executable, "-m", "amazon_ads_auth", "token"]
        wall(token, env)
        times = [wall(token, env) for _ in range(args.runs)]
    median = statistics.median(times) * 1000
    print(f"amazon-ads-auth token (a valid stored token) {median:.0f} ms (goal: 200 ms)")


if __name__ == "__main__":
    main()

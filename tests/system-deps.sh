#!/bin/sh
# System programs the test suite drives as real peers, installed from Debian's packages when
# missing: Chromium (headless, for the pages, mails and e-books the browser tests open; never a
# downloaded browser), Java (EPUBCheck, the Nu Html Checker), the PostgreSQL server binaries (the
# ledger tests) and Node.js with npm (axe-core, DAISY Ace). Then the validators' npm packages
# (tests/validators/package-lock.json) with `npm ci`, without install scripts: those would
# download a browser, a JRE and Electron, which the suite never uses.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v java >/dev/null 2>&1 || missing="$missing default-jre-headless"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "the tests need:$missing (Debian packages); install them, e.g. sudo apt-get install$missing" >&2
        exit 1
    fi
    echo "installing:$missing" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
validators="$here/validators"
if ! cmp -s "$validators/package-lock.json" "$validators/node_modules/.koho-installed-lock" 2>/dev/null; then
    echo "installing the validators' npm packages (tests/validators)" >&2
    (cd "$validators" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    cp "$validators/package-lock.json" "$validators/node_modules/.koho-installed-lock"
fi

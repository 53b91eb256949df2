#!/usr/bin/env bash
# Installs Debian's Chromium for the status page's browser test (internal/web), unless a
# Chromium is already there. Needs root (CI machines, containers) or sudo.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium

# Usage: SCRIPT KEY_FILE ENV_FILE
# Open WebUI reads its OpenAI key only from the environment: write the first key of the
# gateway's key file (the format gateway-auth.lua reads: one per line, # comments) to
# ENV_FILE as OPENAI_API_KEYS, readable by its owner only; systemd reads that file as an
# EnvironmentFile when it starts Open WebUI.
set -eu
umask 077
key=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' "$1" | head -n 1)
if [ -z "$key" ]; then
  echo "open-webui: no API key in $1 (one per line); the gateway would answer 401" >&2
  exit 1
fi
printf 'OPENAI_API_KEYS=%s\n' "$key" >"$2.tmp"
mv "$2.tmp" "$2"

#!/usr/bin/env bash
# Replace the Swagger UI files that /docs serves (resources/api_docs/) with those of swagger-ui-dist VERSION.
set -euo pipefail
version="${1:?usage: scripts/update_swagger_ui.sh VERSION (e.g. 5.35.0)}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf "swagger-ui-dist-$version.tgz")
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
    cp "$work/package/$f" "$here/resources/api_docs/$f"
done
sed -i -E "s/Swagger UI [0-9][0-9.]*/Swagger UI $version/; s/swagger-ui-dist@[0-9][0-9.]*/swagger-ui-dist@$version/g" \
    "$here/resources/api_docs/README.md"
echo "Swagger UI $version is in resources/api_docs/."

#!/usr/bin/env bash
# Lockstep runs this in the tester with the package unpacked: the public header must declare the route API.
set -euo pipefail
grep -q 'maps_route_length_m' "$LOCKSTEP_SDK_DIR/include/maps/maps.h"
echo "maps: public API declared"

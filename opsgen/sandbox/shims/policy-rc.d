#!/bin/sh
# Debian policy hook: never start daemons during package installation in the sandbox.
exit 101

#!/usr/bin/env bats
# abuse.bats - hostile input: the server keeps serving within its caps.

load helpers

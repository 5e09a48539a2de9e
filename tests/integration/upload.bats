#!/usr/bin/env bats
@test "x" { true; }

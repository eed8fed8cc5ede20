#!/usr/bin/env bash
echo "not yet"

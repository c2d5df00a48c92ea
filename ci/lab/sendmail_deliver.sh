#!/bin/sh
# Lab delivery agent for sendmail (called from the lab aliases as "|deliver MAILBOX"):
# stores the message from stdin as one file in the Maildir LAB/mail/sendmail/MAILBOX/new.
set -e
box=$1
dir=$(dirname "$0")/../mail/sendmail/$box
mkdir -p "$dir/tmp" "$dir/new" "$dir/cur"
name=$(date +%s).$$.sendmail
cat >"$dir/tmp/$name"
mv "$dir/tmp/$name" "$dir/new/$name"

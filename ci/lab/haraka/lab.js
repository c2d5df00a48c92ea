// Haraka plugin of the smtpspec lab (ci/lab/haraka/lab.js, copied to HARAKA_DIR/plugins):
//   lookup_rdns  answers "localhost" for the (loopback) client: no reverse DNS
//   rcpt         the lab's recipient policy, before rcpt_to.in_host_list (which would
//                accept any local part of a host_list domain): user@, user2@,
//                postmaster@example.test and the bare <postmaster> are accepted; other
//                example.test local parts get DENY (550 User unknown); other domains
//                are left to Haraka (no plugin vouches for them: "550 I cannot
//                deliver mail for ...", no relaying)
//   queue        stores the message (as Haraka queues it, with its Received header)
//                as one file per recipient in a Maildir LAB/mail/haraka/<mailbox>/new
'use strict'
const fs = require('fs')
const path = require('path')
const crypto = require('crypto')

const DOMAIN = 'example.test'
const MAILBOXES = new Set(['user', 'user2', 'postmaster'])

exports.register = function () {
  this.maildir = process.env.SMTPSPEC_LAB_MAILDIR
  this.register_hook('lookup_rdns', 'lab_rdns', -100)
  this.register_hook('rcpt', 'lab_rcpt', -100)
  this.register_hook('queue', 'lab_queue')
}

exports.lab_rdns = function (next, connection) {
  next(OK, 'localhost')
}

exports.lab_rcpt = function (next, connection, params) {
  const rcpt = params[0]
  const user = (rcpt.user || '').toLowerCase()
  if (!rcpt.host) return user === 'postmaster' ? next(OK) : next()
  if (rcpt.host.toLowerCase() !== DOMAIN) return next()
  if (MAILBOXES.has(user)) return next(OK)
  return next(DENY, 'User unknown')
}

exports.lab_queue = function (next, connection) {
  const txn = connection.transaction
  const maildir = this.maildir
  txn.message_stream.get_data((data) => {
    try {
      for (const rcpt of txn.rcpt_to) {
        const box = (rcpt.user || 'postmaster').toLowerCase()
        const dir = path.join(maildir, box)
        for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(dir, sub), { recursive: true })
        const name = `${Date.now()}.${process.pid}.${crypto.randomBytes(8).toString('hex')}.haraka`
        fs.writeFileSync(path.join(dir, 'tmp', name), data)
        fs.renameSync(path.join(dir, 'tmp', name), path.join(dir, 'new', name))
      }
    } catch (err) {
      connection.logerror(this, `lab queue: ${err.message}`)
      return next(DENYSOFT, 'Could not store the message')
    }
    next(OK)
  })
}

// Package deploy holds riskmap's deployment files — the systemd unit, the nginx
// configuration for N replicas, the backup and restore scripts — and the tests that
// run them on this machine: three riskmap processes behind the shipped nginx
// configuration, and a backup restored into a new database. It has no code; see
// docs/deploy.md.
package deploy

// Package archtest holds tests of the project's architecture rules; it has no code.
package archtest

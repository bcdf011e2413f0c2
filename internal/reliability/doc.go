// Package reliability holds the tests that prove the cleanup never loses
// what it must keep: model-based sequences on both backends side by side,
// replicas, live traffic, crashes and an upgrade under load. It has no code
// of its own.
package reliability

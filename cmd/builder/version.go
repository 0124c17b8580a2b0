package main

// version is set at link time by the Makefile (-X main.version=...).
var version = "dev"

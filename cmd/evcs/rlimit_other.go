//go:build !unix

package main

func needFiles(int, string) error { return nil }

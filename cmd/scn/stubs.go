package main

import "github.com/spf13/cobra"

func newPlanCmd(g *globals) *cobra.Command { return &cobra.Command{Use: "plan"} }
func newDoCmd(g *globals) *cobra.Command   { return &cobra.Command{Use: "do"} }

// The hello-world of the multi-stage example: built in a Go stage, shipped alone.
package main

import "fmt"

func main() {
	fmt.Println("Hello from a two-stage build: only this binary reached the final image.")
}

// Package atomicrename replaces a file with another in one step, the way every writer in
// vilt-vk publishes a finished temporary file (outputs, the pipeline cache, Hugging Face cache
// entries): readers see the old file or the new one, never a partial one.
package atomicrename

// Rename moves tmp over dst, replacing dst if it exists. On Unix this is rename(2). On
// Windows a replace fails while another process has dst open (a reader, an antivirus
// scanner); Rename retries for up to two seconds before giving up.
func Rename(tmp, dst string) error { return rename(tmp, dst) }

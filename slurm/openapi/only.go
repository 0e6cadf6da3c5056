package openapi

// only reads an object of which one member matters: read is called for the
// member named key, every other member is skipped. Slurm nests single
// values this way ({"state": ...} under "node", {"minimum": ...} under
// "load").
func (r *reader) only(key string, read func() error) error {
	return r.object(func(name []byte) error {
		if string(name) == key {
			return read()
		}
		return r.skip()
	})
}

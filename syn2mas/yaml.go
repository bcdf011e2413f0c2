package syn2mas

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseYAMLMapping parses one YAML file whose document must be a mapping.
// An empty document (no content, or a bare null) yields a nil node: Synapse
// skips such files.
func parseYAMLMapping(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlSyntaxError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlSyntaxError(file, err)
		}
		return nil, &ConfigError{File: file, Line: extra.Line, Msg: "more than one YAML document in the file"}
	}
	root := resolveAlias(&doc)
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = resolveAlias(root.Content[0])
	}
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ConfigError{File: file, Line: root.Line, Column: root.Column,
			Msg: "expected a mapping of settings at the top level, got " + describeNode(root)}
	}
	return root, nil
}

var yamlLinePrefix = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlSyntaxError turns the parser's "yaml: line N: msg" into a ConfigError.
func yamlSyntaxError(file string, err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLinePrefix.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &ConfigError{File: file, Line: line, Msg: "malformed YAML: " + msg}
}

// resolveAlias follows *alias references to the anchored node. The bound
// only guards against pathological input; real aliases are one hop.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.AliasNode ||
		(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describeNode names a node's type (and a short scalar value) for messages.
func describeNode(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		kind := map[string]string{
			"!!str": "string", "!!int": "integer", "!!float": "number",
			"!!bool": "boolean", "!!null": "null", "!!timestamp": "timestamp",
		}[n.ShortTag()]
		if kind == "" {
			kind = n.ShortTag()
		}
		return fmt.Sprintf("%s %q", kind, v)
	}
	return "an unexpected YAML node"
}

// value is a setting's YAML node together with where it came from, so that
// type errors name the file, line and key. A nil node is an absent setting.
type value struct {
	file string
	key  string
	node *yaml.Node
}

func (v value) absent() bool { return isNull(v.node) }

func (v value) errorf(format string, args ...any) *ConfigError {
	e := &ConfigError{File: v.file, Key: v.key, Msg: fmt.Sprintf(format, args...)}
	if v.node != nil {
		e.Line, e.Column = v.node.Line, v.node.Column
	}
	return e
}

func (v value) wrongType(want string) *ConfigError {
	return v.errorf("expected %s, got %s", want, describeNode(v.node))
}

func (v value) child(key string, n *yaml.Node) value {
	path := key
	if v.key != "" {
		path = v.key + "." + key
	}
	return value{file: v.file, key: path, node: resolveAlias(n)}
}

// get returns the setting key of the mapping v. An absent v has only absent
// children; a v that is not a mapping is a type error. Merge keys (<<) are
// honoured as PyYAML honours them, with explicit keys taking precedence.
func (v value) get(key string) (value, error) {
	if v.absent() {
		return v.child(key, nil), nil
	}
	if v.node.Kind != yaml.MappingNode {
		return value{}, v.wrongType("a mapping")
	}
	return v.lookup(v.node, key), nil
}

// lookup finds key in the mapping m or, failing that, in the mappings its
// merge keys bring in, depth first, each mapping visited once: aliases can
// make merges share or nest mappings, and a crafted file must not make the
// search exponential.
func (v value) lookup(m *yaml.Node, key string) value {
	found := v.child(key, nil)
	visited := map[*yaml.Node]bool{}
	var search func(m *yaml.Node) *yaml.Node
	search = func(m *yaml.Node) *yaml.Node {
		if visited[m] {
			return nil
		}
		visited[m] = true
		var hit *yaml.Node
		var merges []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := resolveAlias(m.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				continue
			}
			if k.ShortTag() == "!!merge" {
				merges = append(merges, mergeSources(m.Content[i+1])...)
			} else if k.Value == key {
				hit = m.Content[i+1] // the last duplicate wins, as in PyYAML
			}
		}
		if hit != nil {
			return hit
		}
		for _, s := range merges {
			if hit := search(s); hit != nil {
				return hit
			}
		}
		return nil
	}
	if n := search(m); n != nil {
		found = v.child(key, n)
	}
	return found
}

// mergeSources returns the mappings a merge key's value brings in: one
// mapping, or a list of them.
func mergeSources(n *yaml.Node) []*yaml.Node {
	n = resolveAlias(n)
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.MappingNode:
		return []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode:
		var out []*yaml.Node
		for _, s := range n.Content {
			if s = resolveAlias(s); s != nil && s.Kind == yaml.MappingNode {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// pyyamlBools are the plain scalars PyYAML (YAML 1.1), and so Synapse, reads
// as booleans beyond YAML 1.2's true and false.
var pyyamlBools = map[string]bool{
	"yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// optBool returns nil for an absent setting, else its boolean value.
func (v value) optBool() (*bool, error) {
	if v.absent() {
		return nil, nil
	}
	if v.node.Kind == yaml.ScalarNode {
		if v.node.ShortTag() == "!!bool" {
			b := strings.EqualFold(v.node.Value, "true")
			return &b, nil
		}
		quoted := v.node.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0
		if b, ok := pyyamlBools[v.node.Value]; ok && !quoted && v.node.ShortTag() == "!!str" {
			return &b, nil
		}
	}
	return nil, v.wrongType("a boolean")
}

// boolean returns the setting's value, or def when it is absent.
func (v value) boolean(def bool) (bool, error) {
	b, err := v.optBool()
	if err != nil || b == nil {
		return def, err
	}
	return *b, nil
}

// str returns a scalar setting as text ("" when absent). Numbers are
// accepted as their text, as a port or a numeric password may be written.
func (v value) str() (string, error) {
	if v.absent() {
		return "", nil
	}
	if v.node.Kind != yaml.ScalarNode {
		return "", v.wrongType("a string")
	}
	return v.node.Value, nil
}

// integer returns an integer setting, or def when it is absent.
func (v value) integer(def int) (int, error) {
	if v.absent() {
		return def, nil
	}
	var i int
	if v.node.Kind != yaml.ScalarNode || v.node.ShortTag() != "!!int" || v.node.Decode(&i) != nil {
		return def, v.wrongType("an integer")
	}
	return i, nil
}

// list returns the items of a sequence setting (nil when absent).
func (v value) list() ([]value, error) {
	if v.absent() {
		return nil, nil
	}
	if v.node.Kind != yaml.SequenceNode {
		return nil, v.wrongType("a list")
	}
	items := make([]value, len(v.node.Content))
	for i, n := range v.node.Content {
		items[i] = value{file: v.file, key: fmt.Sprintf("%s[%d]", v.key, i), node: resolveAlias(n)}
	}
	return items, nil
}

// decoder reads settings and collects every type error, so that an operator
// sees all of them at once rather than one per run.
type decoder struct {
	errs []error
	seen map[string]bool
}

// add records err once: reading several keys of a mapping that has the
// wrong type reports it a single time.
func (d *decoder) add(err error) {
	if err == nil || d.seen[err.Error()] {
		return
	}
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	d.seen[err.Error()] = true
	d.errs = append(d.errs, err)
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

func (d *decoder) get(v value, key string) value {
	c, err := v.get(key)
	if err != nil {
		d.add(err)
		return v.child(key, nil)
	}
	return c
}

func (d *decoder) boolean(v value, def bool) bool {
	b, err := v.boolean(def)
	d.add(err)
	return b
}

func (d *decoder) optBool(v value) *bool {
	b, err := v.optBool()
	d.add(err)
	return b
}

func (d *decoder) str(v value) string {
	s, err := v.str()
	d.add(err)
	return s
}

func (d *decoder) integer(v value, def int) int {
	i, err := v.integer(def)
	d.add(err)
	return i
}

func (d *decoder) list(v value) []value {
	l, err := v.list()
	d.add(err)
	return l
}

package accounts

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeStrict decodes a YAML node into out (a pointer to a struct whose
// fields carry yaml tags), rejecting unknown and duplicate keys. Unlike
// yaml.Decoder.KnownFields, every error names the dotted path of the field at
// fault ("imap.prot"), which is what an operator needs to fix a file.
func decodeStrict(n *yaml.Node, out any) *FileError {
	return decodeValue(n, reflect.ValueOf(out).Elem(), "")
}

func decodeValue(n *yaml.Node, v reflect.Value, path string) *FileError {
	// Aliases are followed once per schema level; the schema is finite, so a
	// crafted alias graph cannot make this recurse without bound.
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return &FileError{Field: path, Msg: "unresolved alias"}
		}
		n = n.Alias
	}
	if n.Kind == 0 {
		return nil // empty input: nothing set
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return decodeValue(n.Content[0], v, path)
	}
	if v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct {
		if isNull(n) {
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			return &FileError{Field: path, Msg: yamlMessage(err)}
		}
		return nil
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &FileError{Field: path, Msg: fmt.Sprintf("line %d: must be a mapping of keys to values", n.Line)}
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name := k.Value
		field := joinPath(path, name)
		if k.Kind != yaml.ScalarNode {
			return &FileError{Field: path, Msg: fmt.Sprintf("line %d: keys must be plain names", k.Line)}
		}
		if seen[name] {
			return &FileError{Field: field, Msg: fmt.Sprintf("line %d: duplicate key", k.Line)}
		}
		seen[name] = true
		fv, ok := fieldByTag(v, name)
		if !ok {
			return &FileError{Field: field, Msg: fmt.Sprintf("line %d: unknown field", k.Line)}
		}
		if err := decodeValue(val, fv, field); err != nil {
			return err
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == name && tag != "" && tag != "-" {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// yamlMessage drops the "yaml: unmarshal errors:" preamble of a TypeError so
// that the message reads well after the field path.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return strings.TrimSpace(strings.Join(te.Errors, "; "))
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

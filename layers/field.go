package layers

// FieldType is the value type of a layer field. Each maps to one canonical Go type
// (see Layer.Normalize) and one SQL type (see SQLType).
type FieldType string

// Field types.
const (
	TypeText  FieldType = "text"    // Go string
	TypeInt   FieldType = "integer" // Go int64
	TypeFloat FieldType = "number"  // Go float64
	TypeBool  FieldType = "boolean" // Go bool
	TypeDate  FieldType = "date"    // Go time.Time at 00:00 UTC; "YYYY-MM-DD" in JSON
	TypeEnum  FieldType = "enum"    // Go string, one of Field.Enum's codes
)

// SQLType is the PostgreSQL column type used for the field type.
func (t FieldType) SQLType() string {
	switch t {
	case TypeInt:
		return "bigint"
	case TypeFloat:
		return "double precision"
	case TypeBool:
		return "boolean"
	case TypeDate:
		return "date"
	default:
		return "text"
	}
}

// Field describes one attribute column of a layer.
type Field struct {
	// Name is the column name, the API property name and the MVT property key.
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
	LabelZH  string    `json:"label_zh"`
	LabelEN  string    `json:"label_en"`
	// Unit of a numeric field ("m", "cm", "deg", "persons"), empty when unitless.
	Unit string `json:"unit,omitempty"`
	// Enum holds the allowed codes of a TypeEnum field.
	Enum *Enum `json:"enum,omitempty"`
	// Min and Max bound numeric fields (inclusive), nil when unbounded.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// MaxLen bounds a text field, in characters (runes); 0 means the default of 2000.
	MaxLen int `json:"max_len,omitempty"`
	// Default is the value stored when an insert omits the field (canonical Go type),
	// nil when there is none.
	Default any `json:"default,omitempty"`
	// Unique fields are unique within the layer (external_id).
	Unique bool `json:"unique,omitempty"`
	// Summary fields are carried in vector tiles at every zoom; the others only from
	// the detail zoom on (see package tiles). What a wall map draws and filters by.
	Summary bool `json:"summary,omitempty"`
}

// DefaultMaxLen is the text length limit, in characters, of a field without MaxLen.
const DefaultMaxLen = 2000

func (f Field) maxLen() int {
	if f.MaxLen > 0 {
		return f.MaxLen
	}
	return DefaultMaxLen
}

func bound(v float64) *float64 { return &v }

// field constructors keep the registry table in registry.go short and readable.

func text(name, zh, en string, required bool) Field {
	return Field{Name: name, Type: TypeText, Required: required, LabelZH: zh, LabelEN: en}
}

func enum(name, zh, en string, required bool, e Enum, def any) Field {
	return Field{Name: name, Type: TypeEnum, Required: required, LabelZH: zh, LabelEN: en, Enum: &e, Default: def}
}

func number(name, zh, en, unit string, lo, hi float64) Field {
	return Field{Name: name, Type: TypeFloat, LabelZH: zh, LabelEN: en, Unit: unit, Min: bound(lo), Max: bound(hi)}
}

func externalID() Field {
	return Field{Name: "external_id", Type: TypeText, Required: true, Unique: true,
		LabelZH: "普查编号", LabelEN: "External ID", MaxLen: 64}
}

func subdistrict() Field {
	return enum("subdistrict", "街道", "Sub-district", false, subdistricts(), nil)
}

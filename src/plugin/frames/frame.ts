// Plain DataFrame objects. Only types come from @grafana/data: this module stays pure and loads in
// plain Node (the bench, unit tests), where @grafana/data's ESM build does not.
import type { DataFrame, Field, FieldConfig, FieldType, PreferredVisualisationType } from '@grafana/data';

// FieldType is a string enum; its values are part of Grafana's stable data frame format.
export const STRING = 'string' as unknown as FieldType;
export const NUMBER = 'number' as unknown as FieldType;
export const BOOLEAN = 'boolean' as unknown as FieldType;
export const TIME = 'time' as unknown as FieldType;

export function field<T>(name: string, type: FieldType, values: T[], config: FieldConfig = {}): Field<T> {
  return { name, type, values, config };
}

export function frame(name: string, refId: string, fields: Field[], visualisation: PreferredVisualisationType): DataFrame {
  return {
    name,
    refId,
    fields,
    length: fields[0]?.values.length ?? 0,
    meta: { preferredVisualisationType: visualisation },
  };
}

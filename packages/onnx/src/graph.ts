import { create, toBinary } from '@bufbuild/protobuf';
import type { DType, Tensor } from '@neurite/tensor';
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  type TensorProto,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from './gen/onnx_pb.js';

/**
 * An ONNX graph under construction: nodes in topological order, initializers,
 * and unique value names. Written out with ONNX's own schema by @bufbuild/protobuf.
 */

/** An attribute value, tagged with the ONNX attribute type it is written as. */
export type Attribute =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly string: string };

/** A dimension of a graph input or output: a size, a named symbol, or unknown. */
export type Dim = number | string | null;

/** The element types the exporter writes: neurite's dtypes, and int64 and bool where ONNX needs them. */
export type Element = DType | 'int64' | 'bool';

/** ONNX's element type for each neurite dtype, and the ones the exporter's casts produce. */
export const elementType = {
  float32: TensorProto_DataType.FLOAT,
  float64: TensorProto_DataType.DOUBLE,
  int32: TensorProto_DataType.INT32,
  int64: TensorProto_DataType.INT64,
  bool: TensorProto_DataType.BOOL,
} as const satisfies Record<Element, TensorProto_DataType>;

/** The IR version ONNX released together with each opset (onnx/helper.py's table). */
const irVersionOf: Record<number, number> = { 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };

/** Opsets the exporter writes: ONNX 1.12's 17 through ONNX 1.16's 21. */
export const supportedOpsets = Object.keys(irVersionOf).map(Number);

function attributeProto(name: string, value: Attribute): AttributeProto {
  if ('int' in value) {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.INT,
      i: BigInt(value.int),
    });
  }
  if ('ints' in value) {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.INTS,
      ints: value.ints.map((v) => BigInt(v)),
    });
  }
  if ('float' in value) {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.FLOAT,
      f: value.float,
    });
  }
  return create(AttributeProtoSchema, {
    name,
    type: AttributeProto_AttributeType.STRING,
    s: new TextEncoder().encode(value.string),
  });
}

function valueInfo(name: string, dtype: Element, dims: readonly Dim[]): ValueInfoProto {
  const dim = dims.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value:
        typeof d === 'number'
          ? { case: 'dimValue', value: BigInt(d) }
          : typeof d === 'string'
            ? { case: 'dimParam', value: d }
            : { case: undefined },
    }),
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: elementType[dtype],
          shape: create(TensorShapeProtoSchema, { dim }),
        }),
      },
    }),
  });
}

/** Little-endian bytes of a typed array, as ONNX's raw_data holds them. */
function littleEndian(
  values: Float32Array | Float64Array | Int32Array | BigInt64Array,
): Uint8Array {
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  const width = values.BYTES_PER_ELEMENT;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v === 'bigint') view.setBigInt64(i * width, v, true);
    else if (values instanceof Float32Array) view.setFloat32(i * width, v, true);
    else if (values instanceof Float64Array) view.setFloat64(i * width, v, true);
    else view.setInt32(i * width, v, true);
  }
  return bytes;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly int64Constants = new Map<string, string>();

  constructor(readonly opset: number) {}

  /** A value name not used yet, `base` itself when free. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Appends a node computing one new value; returns the value's name. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, Attribute> = {},
    name: string = opType,
    exactName = false,
  ): string {
    const output = exactName ? name : this.fresh(name);
    this.nodes.push(
      create(NodeProtoSchema, {
        name: output,
        opType,
        input: [...inputs],
        output: [output],
        attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
      }),
    );
    return output;
  }

  /** Appends a node with several outputs; returns their names. */
  nodeOutputs(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, Attribute>,
    name: string,
    count: number,
  ): string[] {
    const outputs = Array.from({ length: count }, (_, i) =>
      this.fresh(i === 0 ? name : `${name}_${i}`),
    );
    this.nodes.push(
      create(NodeProtoSchema, {
        name: outputs[0]!,
        opType,
        input: [...inputs],
        output: outputs,
        attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
      }),
    );
    return outputs;
  }

  /** A tensor's values as an initializer; returns its name. */
  initializer(base: string, tensor: Tensor): string {
    const name = this.fresh(base);
    this.initializers.push(
      create(TensorProtoSchema, {
        name,
        dims: tensor.shape.map((d) => BigInt(d)),
        dataType: elementType[tensor.dtype],
        rawData: littleEndian(tensor.data),
      }),
    );
    return name;
  }

  /** An int64 vector (shapes, axes, pads) as an initializer, shared by every node that needs the same one. */
  int64s(values: readonly number[], base = 'const'): string {
    const key = values.join(',');
    const known = this.int64Constants.get(key);
    if (known) return known;
    const name = this.fresh(base);
    this.initializers.push(
      create(TensorProtoSchema, {
        name,
        dims: [BigInt(values.length)],
        dataType: TensorProto_DataType.INT64,
        rawData: littleEndian(BigInt64Array.from(values, (v) => BigInt(v))),
      }),
    );
    this.int64Constants.set(key, name);
    return name;
  }

  /** Keeps `name` from being handed out by `fresh`: a graph input's or output's name. */
  reserve(name: string): void {
    if (this.used.has(name)) throw new RangeError(`the name ${name} is used twice`);
    this.used.add(name);
  }

  input(name: string, dtype: DType, dims: readonly Dim[]): void {
    this.inputs.push(valueInfo(name, dtype, dims));
  }

  output(name: string, dtype: DType, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** The model as ONNX protobuf bytes. */
  serialize(graphName: string, producerVersion: string): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: BigInt(irVersionOf[this.opset] ?? 8),
      producerName: 'neurite',
      producerVersion,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(this.opset) })],
      graph: create(GraphProtoSchema, {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return toBinary(ModelProtoSchema, model);
  }
}

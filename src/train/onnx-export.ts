import type { TreeEnsemble } from '../model/tree-ensemble.ts';
import { ATTRIBUTE_TYPE, ELEM_TYPE_FLOAT, encodeModel, type AttributeMessage, type ModelMessage, type NodeMessage, type ValueInfoMessage } from './onnx-proto.ts';

/**
 * Writes a tree ensemble as an ONNX model:
 *
 *   features float[N, F] ─► ai.onnx.ml.TreeEnsembleRegressor ─► margin float[N, 1]
 *                                                   └─► Sigmoid ─► probability float[N, 1]
 *
 * Why a regressor plus Sigmoid rather than TreeEnsembleClassifier with post_transform
 * LOGISTIC: the classifier's binary case with a single class column goes through special
 * cases in onnxruntime (tree_ensemble_aggregator.h: `binary_case_`,
 * `weights_are_all_positive_`, a second class column derived from the first), and the
 * regressor's one-target path ignores post_transform LOGISTIC in older onnxruntime releases
 * (FinalizeScores1 only applies PROBIT). A sum of leaves plus base_values, then the standard
 * Sigmoid, has one obvious meaning in every runtime, and the raw margin stays available as an
 * output for checks.
 *
 * Node encoding (one tuple per node, node ids 0..n−1 per tree, as the spec asks):
 * internal nodes use BRANCH_LEQ (`x <= threshold` → true branch = the trainer's left child)
 * and `nodes_missing_value_tracks_true` = the trainer's defaultLeft, so NaN takes the true
 * branch exactly when the trainer sends missing left; otherwise NaN fails `<=` and goes to the
 * false branch, as the trainer sends it right (onnxruntime tree_ensemble_common.h). Thresholds,
 * leaf weights and the base value are float32 already, so FLOATS attributes store them
 * exactly. onnxruntime accumulates the sum in float32 for float inputs; the trainer in double:
 * the difference is rounding only (the parity test bounds it).
 */

/** ONNX IR version written (IR 8: ONNX 1.10+; onnxruntime ≥ 1.10 reads it). */
export const ONNX_IR_VERSION = 8;

/** Operator sets imported: Sigmoid-13 from the default domain, TreeEnsembleRegressor-3 from ai.onnx.ml. */
export const ONNX_OPSETS: Readonly<Record<'' | 'ai.onnx.ml', number>> = Object.freeze({ '': 13, 'ai.onnx.ml': 3 });

export const ONNX_INPUT = 'features';
export const ONNX_OUTPUT_PROBABILITY = 'probability';
export const ONNX_OUTPUT_MARGIN = 'margin';

export interface OnnxExportMeta {
  readonly name: string;
  readonly version: string;
  readonly featureNames: readonly string[];
  /** more metadata_props (catalogue and encoding versions, training window, ...) */
  readonly props?: Readonly<Record<string, string>>;
}

const utf8 = new TextEncoder();

const ints = (name: string, v: number[]): AttributeMessage => ({ name, type: ATTRIBUTE_TYPE.INTS, ints: v });
const floats = (name: string, v: number[]): AttributeMessage => ({ name, type: ATTRIBUTE_TYPE.FLOATS, floats: v });
const str = (name: string, v: string): AttributeMessage => ({ name, type: ATTRIBUTE_TYPE.STRING, s: utf8.encode(v) });
const strs = (name: string, v: string[]): AttributeMessage => ({ name, type: ATTRIBUTE_TYPE.STRINGS, strings: v.map((x) => utf8.encode(x)) });
const int = (name: string, v: number): AttributeMessage => ({ name, type: ATTRIBUTE_TYPE.INT, i: v });

function tensorInfo(name: string, dims: (number | string)[]): ValueInfoMessage {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE_FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function treeEnsembleNode(model: TreeEnsemble): NodeMessage {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const targetTree: number[] = [];
  const targetNode: number[] = [];
  const targetWeights: number[] = [];
  model.trees.forEach((t, k) => {
    for (let i = 0; i < t.feature.length; i++) {
      const leaf = t.feature[i]! < 0;
      treeIds.push(k);
      nodeIds.push(i);
      featureIds.push(leaf ? 0 : t.feature[i]!);
      modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      values.push(leaf ? 0 : t.threshold[i]!);
      trueIds.push(leaf ? 0 : t.left[i]!);
      falseIds.push(leaf ? 0 : t.right[i]!);
      missingTrue.push(leaf ? 0 : t.defaultLeft[i]!);
      if (leaf) {
        targetTree.push(k);
        targetNode.push(i);
        targetWeights.push(t.value[i]!);
      }
    }
  });
  return {
    input: [ONNX_INPUT],
    output: [ONNX_OUTPUT_MARGIN],
    name: 'trees',
    opType: 'TreeEnsembleRegressor',
    domain: 'ai.onnx.ml',
    attribute: [
      int('n_targets', 1),
      str('aggregate_function', 'SUM'),
      str('post_transform', 'NONE'),
      floats('base_values', [model.baseMargin]),
      ints('nodes_treeids', treeIds),
      ints('nodes_nodeids', nodeIds),
      ints('nodes_featureids', featureIds),
      strs('nodes_modes', modes),
      floats('nodes_values', values),
      ints('nodes_truenodeids', trueIds),
      ints('nodes_falsenodeids', falseIds),
      ints('nodes_missing_value_tracks_true', missingTrue),
      ints('target_treeids', targetTree),
      ints('target_nodeids', targetNode),
      ints('target_ids', targetTree.map(() => 0)),
      floats('target_weights', targetWeights),
    ],
  };
}

/** The model message (before encoding); exportOnnx encodes it. */
export function onnxModelMessage(model: TreeEnsemble, meta: OnnxExportMeta): ModelMessage {
  if (meta.featureNames.length !== model.nFeatures) {
    throw new Error(`${meta.featureNames.length} feature names for a model of ${model.nFeatures} features`);
  }
  if (model.trees.length === 0) throw new Error('a model without trees cannot be exported');
  const props: Record<string, string> = {
    ...meta.props,
    model_name: meta.name,
    model_version: meta.version,
    feature_names: JSON.stringify(meta.featureNames),
    opsets: JSON.stringify(ONNX_OPSETS),
    trees: String(model.trees.length),
  };
  return {
    irVersion: ONNX_IR_VERSION,
    producerName: 'calmpay',
    producerVersion: '1',
    domain: 'org.calmpay',
    modelVersion: 1,
    docString: `P(fraud) of a transfer: ${model.trees.length} gradient-boosted trees over ${model.nFeatures} features (margin = base + Σ leaves; probability = sigmoid(margin))`,
    graph: {
      name: meta.name,
      docString: '',
      node: [
        treeEnsembleNode(model),
        { input: [ONNX_OUTPUT_MARGIN], output: [ONNX_OUTPUT_PROBABILITY], name: 'sigmoid', opType: 'Sigmoid', domain: '', attribute: [] },
      ],
      input: [tensorInfo(ONNX_INPUT, ['N', model.nFeatures])],
      output: [tensorInfo(ONNX_OUTPUT_PROBABILITY, ['N', 1]), tensorInfo(ONNX_OUTPUT_MARGIN, ['N', 1])],
    },
    opsetImport: Object.entries(ONNX_OPSETS).map(([domain, version]) => ({ domain, version })),
    metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })),
  };
}

/** The serialized ONNX file of `model`. */
export function exportOnnx(model: TreeEnsemble, meta: OnnxExportMeta): Uint8Array {
  return encodeModel(onnxModelMessage(model, meta));
}

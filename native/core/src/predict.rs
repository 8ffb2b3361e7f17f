//! Invocations: a request body (CSV, JSON, JSON Lines, libsvm,
//! RecordIO-protobuf) in, the encoded response (JSON, JSON Lines, CSV,
//! RecordIO-protobuf) out, entirely in the core so large batch
//! bodies never loop row by row in JavaScript. Output order = input order,
//! one prediction per input record, as batch transform relies on.

use crate::decode::{recordio, ChannelReader, Declared, Decoder, Format, Width};
use crate::distributions::student_t_central;
use crate::error::{CoreError, InstanceProblem as Problem, Location};
use crate::model::{column_order, Inference, Model};
use serde_json::{Map, Value};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    Csv,
    Json,
    JsonLines,
    Libsvm,
    RecordIo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFormat {
    Json,
    JsonLines,
    Csv,
    /// One Record per row, Linear Learner's shape: `label["score"]` and any
    /// interval bounds as float32 tensors.
    RecordIo,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Invocation {
    pub body: BodyFormat,
    pub response: ResponseFormat,
    /// Rows (or array instances) carry the label first.
    pub labelled: bool,
    /// Central probability of the intervals asked for outside the body.
    pub intervals: Option<f64>,
}

pub struct Predictor {
    model: Arc<Model>,
    threads: usize,
}

/// Parsed features, row-major, and any intervals the body asked for.
struct Rows {
    values: Vec<f64>,
    intervals: Option<f64>,
}

fn instance_error(code: Problem, index: usize, detail: String) -> CoreError {
    CoreError::Instance { code, index, detail }
}

fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 40 {
        format!("{}...", &text[..text.char_indices().nth(40).map_or(text.len(), |(i, _)| i)])
    } else {
        text
    }
}

impl Predictor {
    pub fn new(model: Arc<Model>, threads: usize) -> Self {
        Predictor { model, threads }
    }

    pub fn features(&self) -> usize {
        self.model.features()
    }

    /// Decodes the body, predicts every record and encodes the response.
    pub fn invoke(&self, body: &[u8], invocation: &Invocation) -> Result<Vec<u8>, CoreError> {
        let rows = match invocation.body {
            BodyFormat::Csv => self.decode_rows(body, Format::Csv, invocation.labelled)?,
            BodyFormat::Libsvm => self.decode_rows(body, Format::Libsvm, invocation.labelled)?,
            BodyFormat::RecordIo => self.decode_rows(body, Format::RecordIo, invocation.labelled)?,
            BodyFormat::Json => self.decode_json(body, invocation.labelled)?,
            BodyFormat::JsonLines => self.decode_json_lines(body, invocation.labelled)?,
        };
        let p = self.features();
        let count = rows.values.len().checked_div(p).unwrap_or(0);
        if count == 0 {
            return Err(CoreError::EmptyRequest);
        }
        let level = invocation.intervals.or(rows.intervals);
        let bands = match level {
            None => None,
            Some(level) => Some(self.interval_model(level)?),
        };
        let mut out = Vec::with_capacity(count * 24);
        let mut numbers = ryu_js::Buffer::new();
        let mut fields: Vec<(&str, f64)> = Vec::with_capacity(6);
        if invocation.response == ResponseFormat::Json {
            out.extend_from_slice(b"{\"predictions\":[");
        }
        for (i, x) in rows.values.chunks_exact(p).enumerate() {
            let score = self.model.predict(x);
            fields.clear();
            fields.push(("score", score));
            if let Some((u, t)) = &bands {
                let mean_se = self.mean_standard_error(u, x);
                let prediction_se = (u.sigma2 + mean_se * mean_se).sqrt();
                fields.extend([
                    ("standard_error", mean_se),
                    ("confidence_lower", score - t * mean_se),
                    ("confidence_upper", score + t * mean_se),
                    ("prediction_lower", score - t * prediction_se),
                    ("prediction_upper", score + t * prediction_se),
                ]);
            }
            if let Some((name, _)) = fields.iter().find(|(_, v)| !v.is_finite()) {
                return Err(CoreError::NonFinitePrediction { record: format!("record {}", i + 1), what: name });
            }
            match invocation.response {
                ResponseFormat::Json | ResponseFormat::JsonLines => {
                    if i > 0 && invocation.response == ResponseFormat::Json {
                        out.push(b',');
                    }
                    out.push(b'{');
                    for (k, (name, value)) in fields.iter().enumerate() {
                        if k > 0 {
                            out.push(b',');
                        }
                        out.push(b'"');
                        out.extend_from_slice(name.as_bytes());
                        out.extend_from_slice(b"\":");
                        // Finite: non-finite values were refused above.
                        out.extend_from_slice(numbers.format(*value).as_bytes());
                    }
                    out.push(b'}');
                    if invocation.response == ResponseFormat::JsonLines {
                        out.push(b'\n');
                    }
                }
                ResponseFormat::RecordIo => recordio::write_label_record(&mut out, &fields),
                ResponseFormat::Csv => {
                    for (k, (_, value)) in fields.iter().enumerate() {
                        if k > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(numbers.format(*value).as_bytes());
                    }
                    out.push(b'\n');
                }
            }
        }
        if invocation.response == ResponseFormat::Json {
            out.extend_from_slice(b"]}");
        }
        Ok(out)
    }

    fn interval_model(&self, level: f64) -> Result<(&Inference, f64), CoreError> {
        if !(level > 0.0 && level < 1.0) {
            return Err(CoreError::Intervals(format!("intervals must be a probability strictly between 0 and 1 (e.g. 0.95), got {level}")));
        }
        let u = self.model.inference.as_ref().ok_or_else(|| {
            CoreError::Intervals(
                "this model stores no standard errors (a ridge fit, or no residual degrees of freedom), so it cannot give intervals; ask for predictions only".into(),
            )
        })?;
        Ok((u, student_t_central(level, u.df_resid)))
    }

    /// σ·‖R⁻ᵀz‖, z the row in the shifted basis of the estimated parameters.
    fn mean_standard_error(&self, u: &Inference, x: &[f64]) -> f64 {
        let lead = usize::from(self.model.fit_intercept);
        let center = &self.model.prediction.center;
        let r = u.parameters.len();
        let z: Vec<f64> = u.parameters.iter().map(|&j| if j < lead { 1.0 } else { x[j - lead] - center[j - lead] }).collect();
        let mut sum = 0.0;
        for i in 0..r {
            let mut w = 0.0;
            for (j, zj) in z.iter().enumerate().take(i + 1) {
                w += u.covariance_factor[j * r + i] * zj;
            }
            sum += w * w;
        }
        (u.sigma2 * sum).sqrt()
    }

    /// Rows of a body in one of the channel formats. A RecordIO record
    /// carries its label apart from the features, and a libsvm line's label
    /// is the token without a colon, so theirs is dropped whatever `labelled`
    /// says; CSV rows must match `labelled`.
    fn decode_rows(&self, body: &[u8], format: Format, labelled: bool) -> Result<Rows, CoreError> {
        let p = self.features();
        let declared = Declared { format: Some(format), ..Declared::default() };
        let mut reader = ChannelReader::new(Width::FeaturesOrLabelled(p), self.threads, declared);
        let mut raw = Vec::new();
        reader.begin_source("body");
        reader.push(body, &mut raw)?;
        reader.end_source(&mut raw)?;
        let Some(width) = reader.width() else {
            // A lone line of words reads as a header; for a request it is far
            // more likely a row of bad values than column names.
            if let Some(header) = reader.header() {
                return Err(CoreError::NonNumeric { at: Location::line("body", 1), column: 1, text: header.join(",") });
            }
            return Ok(Rows { values: Vec::new(), intervals: None });
        };
        let labelled = if matches!(format, Format::RecordIo | Format::Libsvm) { width == p + 1 } else { labelled };
        let at = || reader.first_data_line().cloned().unwrap_or(Location::line("body", 1));
        if width == p + 1 && !labelled {
            return Err(CoreError::UnexpectedLabel { at: at(), features: p });
        }
        if width == p && labelled {
            return Err(CoreError::MissingLabel { at: at(), features: p });
        }
        let skip = usize::from(labelled);
        let order = match reader.header() {
            Some(header) => column_order(&self.model.feature_names, &header[skip..], "body")?,
            None => (0..p).collect(),
        };
        let identity = order.iter().enumerate().all(|(j, &c)| j == c);
        if !labelled && identity {
            return Ok(Rows { values: raw, intervals: None });
        }
        let mut values = Vec::with_capacity(raw.len() / width * p);
        for row in raw.chunks_exact(width) {
            values.extend(order.iter().map(|&c| row[skip + c]));
        }
        Ok(Rows { values, intervals: None })
    }

    fn decode_json(&self, body: &[u8], labelled: bool) -> Result<Rows, CoreError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| CoreError::MalformedJson {
            record: None,
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let (instances, configuration): (Vec<&Value>, Option<&Value>) = match &value {
            Value::Array(items) if items.iter().all(Value::is_number) && !items.is_empty() => (vec![&value], None),
            Value::Array(items) => (items.iter().collect(), None),
            Value::Object(fields) => match fields.get("instances") {
                Some(Value::Array(items)) => (items.iter().collect(), fields.get("configuration")),
                Some(_) => return Err(instance_error(Problem::Malformed, 0, "\"instances\" must be an array".into())),
                None if fields.contains_key("features") || fields.contains_key("data") => (vec![&value], fields.get("configuration")),
                None => {
                    return Err(CoreError::Instance {
                        code: Problem::Malformed,
                        index: 0,
                        detail: "expected {\"instances\": [...]}, a list of rows, or one {\"features\": [...]} object".into(),
                    })
                }
            },
            _ => {
                return Err(CoreError::Instance {
                    code: Problem::Malformed,
                    index: 0,
                    detail: "expected {\"instances\": [...]} or a list of rows".into(),
                })
            }
        };
        let intervals = match configuration.and_then(|c| c.get("intervals")) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(other) => {
                return Err(CoreError::Intervals(format!("configuration.intervals must be a probability such as 0.95, got {}", describe(other))))
            }
        };
        let mut values = Vec::with_capacity(instances.len() * self.features());
        for (i, instance) in instances.iter().enumerate() {
            self.instance_features(instance, i + 1, labelled, &mut values)?;
        }
        Ok(Rows { values, intervals })
    }

    fn decode_json_lines(&self, body: &[u8], labelled: bool) -> Result<Rows, CoreError> {
        let mut values = Vec::new();
        let mut record = 0;
        for line in body.split(|&b| b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            record += 1;
            let value: Value = serde_json::from_slice(line).map_err(|e| CoreError::MalformedJson {
                record: Some(record),
                line: record,
                column: e.column(),
                message: e.to_string(),
            })?;
            self.instance_features(&value, record, labelled, &mut values)?;
        }
        Ok(Rows { values, intervals: None })
    }

    /// One instance: an array of numbers, {"features": [...]}, Linear
    /// Learner's {"data": {"features": {"values": [...]}}} (dense or sparse
    /// with keys), or an object of named features.
    fn instance_features(&self, instance: &Value, index: usize, labelled: bool, out: &mut Vec<f64>) -> Result<(), CoreError> {
        let p = self.features();
        match instance {
            Value::Array(items) => self.array_features(items, index, labelled, out),
            Value::Object(fields) => {
                if let Some(features) = fields.get("features") {
                    return match features {
                        Value::Array(items) => self.array_features(items, index, false, out),
                        other => Err(instance_error(
                            Problem::Malformed,
                            index,
                            format!("\"features\" must be an array of numbers, got {}", describe(other)),
                        )),
                    };
                }
                if let Some(values) = fields.get("data").and_then(|d| d.get("features")) {
                    return self.tensor_features(values, index, out);
                }
                self.named_features(fields, index, out)
            }
            other => Err(instance_error(
                Problem::Malformed,
                index,
                format!("expected an array of {p} numbers or an object of named features, got {}", describe(other)),
            )),
        }
    }

    fn number(value: &Value, index: usize, column: usize) -> Result<f64, CoreError> {
        match value {
            Value::Number(n) => n
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| instance_error(Problem::NonFinite, index, format!("feature {column} ({n}) is not a finite number"))),
            Value::Null => Err(instance_error(Problem::Missing, index, format!("feature {column} is null; impute it or drop the instance"))),
            other => Err(instance_error(Problem::NonNumeric, index, format!("feature {column} is {}, not a number", describe(other)))),
        }
    }

    fn array_features(&self, items: &[Value], index: usize, labelled: bool, out: &mut Vec<f64>) -> Result<(), CoreError> {
        let p = self.features();
        let skip = usize::from(labelled);
        if items.len() != p + skip {
            let hint = if items.len() == p + 1 { " (if the first value is the label, add label_size=1 to the Content-Type)" } else { "" };
            return Err(instance_error(
                Problem::FeatureCount,
                index,
                format!("has {} values but the model has {p} feature(s){}{hint}", items.len(), if labelled { " plus the label" } else { "" }),
            ));
        }
        for (j, item) in items[skip..].iter().enumerate() {
            out.push(Self::number(item, index, j + 1)?);
        }
        Ok(())
    }

    fn tensor_features(&self, tensor: &Value, index: usize, out: &mut Vec<f64>) -> Result<(), CoreError> {
        let p = self.features();
        let Some(Value::Array(values)) = tensor.get("values") else {
            return Err(instance_error(Problem::Malformed, index, "data.features.values must be an array of numbers".into()));
        };
        match tensor.get("keys") {
            None => self.array_features(values, index, false, out),
            Some(Value::Array(keys)) if keys.len() == values.len() => {
                let start = out.len();
                out.resize(start + p, 0.0);
                for (k, v) in keys.iter().zip(values) {
                    let key = k.as_u64().filter(|&k| (k as usize) < p).ok_or_else(|| {
                        instance_error(Problem::FeatureCount, index, format!("sparse key {} is not a feature index below {p}", describe(k)))
                    })? as usize;
                    out[start + key] = Self::number(v, index, key + 1)?;
                }
                Ok(())
            }
            Some(_) => Err(instance_error(Problem::Malformed, index, "data.features.keys must be an array as long as values".into())),
        }
    }

    fn named_features(&self, fields: &Map<String, Value>, index: usize, out: &mut Vec<f64>) -> Result<(), CoreError> {
        if let Some(unknown) = fields.keys().find(|k| !self.model.feature_names.contains(k)) {
            return Err(instance_error(
                Problem::UnknownFeature,
                index,
                format!("'{unknown}' is not a feature of the model; its features are {}", self.model.feature_names.join(", ")),
            ));
        }
        for (j, name) in self.model.feature_names.iter().enumerate() {
            match fields.get(name) {
                Some(value) => out.push(Self::number(value, index, j + 1)?),
                None => {
                    return Err(instance_error(
                        Problem::Missing,
                        index,
                        format!("feature '{name}' is missing; send all of {}", self.model.feature_names.join(", ")),
                    ))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::example_model;
    use BodyFormat as B;
    use ResponseFormat as R;

    /// y = 31 at x = 10: y = 4 + 3 (x - 1), and z with coefficient 0.
    fn predictor(inference: Option<Inference>) -> Predictor {
        let mut model = example_model(&[3.0, 0.0], &[1.0, 0.0], 4.0, &["x", "z"], false);
        model.inference = inference;
        Predictor::new(Arc::new(model), 1)
    }

    fn invoke(p: &Predictor, body: &str, format: BodyFormat, response: ResponseFormat, labelled: bool) -> Result<String, CoreError> {
        p.invoke(body.as_bytes(), &Invocation { body: format, response, labelled, intervals: None }).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn every_body_shape_scores_the_same() {
        let p = predictor(None);
        assert_eq!(invoke(&p, "10,5\n2,0\n", B::Csv, R::Json, false).unwrap(), r#"{"predictions":[{"score":31},{"score":7}]}"#);
        assert_eq!(invoke(&p, "z,x\n5,10\n", B::Csv, R::Csv, false).unwrap(), "31\n");
        assert_eq!(invoke(&p, "99,10,5\n", B::Csv, R::Csv, true).unwrap(), "31\n");
        for body in [
            r#"{"instances":[{"features":[10,5]}]}"#,
            r#"{"instances":[[10,5]]}"#,
            r#"[[10,5]]"#,
            r#"[10,5]"#,
            r#"{"instances":[{"x":10,"z":5}]}"#,
            r#"{"instances":[{"data":{"features":{"values":[10,5]}}}]}"#,
            r#"{"instances":[{"data":{"features":{"keys":[0],"shape":[2],"values":[10]}}}]}"#,
        ] {
            assert_eq!(invoke(&p, body, B::Json, R::JsonLines, false).unwrap(), "{\"score\":31}\n", "{body}");
        }
        assert_eq!(invoke(&p, "[10,5]\n\n{\"x\":2,\"z\":1}\n", B::JsonLines, R::Csv, false).unwrap(), "31\n7\n");
        for labelled in [false, true] {
            assert_eq!(invoke(&p, "1:10 2:5\n2:0 1:2\n", B::Libsvm, R::Csv, labelled).unwrap(), "31\n7\n", "no label, label_size {labelled}");
            assert_eq!(invoke(&p, "99 1:10 2:5\n0 1:2\n", B::Libsvm, R::Csv, labelled).unwrap(), "31\n7\n", "a label, label_size {labelled}");
        }
    }

    #[test]
    fn bad_records_name_the_record_and_the_fix() {
        let p = predictor(None);
        let cases: [(&str, BodyFormat, bool, &str, &str); 9] = [
            ("abc\n", B::Csv, false, "NON_NUMERIC_VALUE", "body line 1, column 1: 'abc'"),
            ("1,2,3\n", B::Csv, false, "FEATURE_COUNT_MISMATCH", "label_size=1"),
            ("1,2\n", B::Csv, true, "FEATURE_COUNT_MISMATCH", "says the first is a label"),
            ("1,2\n3,x\n", B::Csv, false, "NON_NUMERIC_VALUE", "body line 2, column 2: 'x'"),
            ("a,b\n1,2\n", B::Csv, false, "HEADER_MISMATCH", "not the model's features"),
            (r#"{"instances":[[1,2],[1,"a"]]}"#, B::Json, false, "NON_NUMERIC_VALUE", "instance 2: feature 2 is \"a\""),
            (r#"{"instances":[{"x":1,"y":2}]}"#, B::Json, false, "UNKNOWN_FEATURE", "'y' is not a feature"),
            (r#"{"instances":[[1,2]"#, B::Json, false, "MALFORMED_JSON", "line 1, column"),
            ("", B::Csv, false, "EMPTY_REQUEST", "no rows"),
        ];
        for (body, format, labelled, code, needle) in cases {
            let err = invoke(&p, body, format, R::Json, labelled).unwrap_err();
            assert_eq!(err.code(), code, "{body}: {err}");
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
    }

    #[test]
    fn intervals_widen_from_mean_to_prediction() {
        // One feature x, intercept; covariance factor R⁻¹ for sigma2 = 4, df = 8.
        let u = Inference { parameters: vec![0, 1], covariance_factor: vec![0.5, 0.1, 0.0, 0.25], sigma2: 4.0, df_resid: 8.0 };
        let p = predictor(Some(u));
        let body = r#"{"instances":[[10,5]],"configuration":{"intervals":0.95}}"#;
        let out = invoke(&p, body, BodyFormat::Json, ResponseFormat::Json, false).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        let row = &v["predictions"][0];
        let (score, se) = (row["score"].as_f64().unwrap(), row["standard_error"].as_f64().unwrap());
        // z = [1, 10 - 1]; R⁻ᵀz = [0.5, 0.1 + 0.25 * 9]; se = 2 * |R⁻ᵀz|.
        let expected = 2.0 * (0.25f64 + 2.35 * 2.35).sqrt();
        assert!((se - expected).abs() < 1e-12, "{se} vs {expected}");
        let t = student_t_central(0.95, 8.0);
        assert!((row["confidence_upper"].as_f64().unwrap() - (score + t * se)).abs() < 1e-12);
        let pred_se = (4.0 + se * se).sqrt();
        assert!((row["prediction_lower"].as_f64().unwrap() - (score - t * pred_se)).abs() < 1e-12);
        let none = predictor(None);
        let err = invoke(&none, body, BodyFormat::Json, ResponseFormat::Json, false).unwrap_err();
        assert_eq!(err.code(), "INVALID_INTERVALS");
    }

    #[test]
    fn a_score_or_interval_that_overflows_is_a_coded_error_naming_the_record() {
        let p = predictor(None);
        let err = invoke(&p, "1,0\n1e308,0\n", B::Csv, R::Json, false).unwrap_err();
        assert_eq!(err.code(), "NON_FINITE_PREDICTION");
        assert!(err.to_string().starts_with("record 2: the score is beyond"), "{err}");
        let err = invoke(&p, r#"{"instances":[[-1e308,1]]}"#, B::Json, R::Csv, false).unwrap_err();
        assert_eq!(err.code(), "NON_FINITE_PREDICTION", "{err}");
    }
}

//! Models as HTML tables: one row per layer with its shape, parameters, and bytes stored as bits
//! versus as `f32`.

use std::fmt::Write as _;

use super::{CELL_STYLE, HEAD_STYLE, HTML, TABLE_STYLE, emit, escape_html, human_bytes, thousands};
use crate::layers::{BitConv2d, BitDense, BitMaxPool, BitOutput, Chain, Dense, Layer};

/// What the table shows about one layer.
struct Row {
    name: String,
    kind: &'static str,
    inputs: usize,
    outputs: usize,
    parameters: usize,
    bytes: usize,
    output: String,
}

fn row(layer: &Layer) -> Row {
    match layer {
        Layer::Bit(l) => bit_row(l),
        Layer::Float(l) => float_row(l),
        Layer::Conv(l) => conv_row(l),
        Layer::Pool(l) => pool_row(l),
        Layer::Vote(l) => Row {
            name: format!("Vote of {} networks", l.members().len()),
            kind: "vote",
            inputs: l.inputs(),
            outputs: l.outputs(),
            parameters: l.parameters(),
            bytes: l.bytes(),
            output: format!("float, sum of {} networks' scores", l.members().len()),
        },
    }
}

fn conv_row(l: &BitConv2d) -> Row {
    let f = l.filters();
    Row {
        name: l.to_string(),
        kind: "1-bit conv",
        inputs: l.inputs(),
        outputs: l.outputs(),
        parameters: f.parameters(),
        bytes: f.bytes(),
        output: format!("bits, {} map", l.output_shape()),
    }
}

fn pool_row(l: &BitMaxPool) -> Row {
    Row {
        name: l.to_string(),
        kind: "max-pool",
        inputs: l.inputs(),
        outputs: l.outputs(),
        parameters: 0,
        bytes: 0,
        output: format!("bits (AND), {} map", l.output_shape()),
    }
}

fn bit_row(l: &BitDense) -> Row {
    Row {
        name: l.to_string(),
        kind: "1-bit",
        inputs: l.inputs(),
        outputs: l.outputs(),
        parameters: l.parameters(),
        bytes: l.bytes(),
        output: match l.output() {
            BitOutput::Bits => "bits (sign)".into(),
            BitOutput::Float(a) => format!("float, {}", a.name()),
        },
    }
}

fn float_row(l: &Dense) -> Row {
    Row {
        name: l.to_string(),
        kind: "f32",
        inputs: l.inputs(),
        outputs: l.outputs(),
        parameters: l.parameters(),
        bytes: l.bytes(),
        output: format!("float, {}", l.activation().name()),
    }
}

/// The table for `rows`, with a total row when there is more than one layer.
fn table(title: &str, rows: &[Row]) -> String {
    let mut s = format!(
        "<div style=\"font-family:sans-serif\"><div style=\"font-weight:bold;margin:4px 0\">{}</div>\
         <table style=\"{TABLE_STYLE}\"><tr>",
        escape_html(title)
    );
    for h in [
        "#",
        "layer",
        "weights",
        "inputs → outputs",
        "parameters",
        "stored",
        "as f32",
        "output",
    ] {
        let _ = write!(s, "<th style=\"{HEAD_STYLE}\">{h}</th>");
    }
    s.push_str("</tr>");
    for (i, r) in rows.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><td style=\"{CELL_STYLE}\">{i}</td><td style=\"{CELL_STYLE};text-align:left\">{}</td>\
             <td style=\"{CELL_STYLE};text-align:center\">{}</td><td style=\"{CELL_STYLE}\">{} → {}</td>\
             <td style=\"{CELL_STYLE}\">{}</td><td style=\"{CELL_STYLE}\">{}</td><td style=\"{CELL_STYLE}\">{}</td>\
             <td style=\"{CELL_STYLE};text-align:left\">{}</td></tr>",
            escape_html(&r.name),
            r.kind,
            thousands(r.inputs),
            thousands(r.outputs),
            thousands(r.parameters),
            human_bytes(r.bytes),
            human_bytes(r.parameters * 4),
            escape_html(&r.output)
        );
    }
    let params: usize = rows.iter().map(|r| r.parameters).sum();
    let bytes: usize = rows.iter().map(|r| r.bytes).sum();
    if rows.len() > 1 {
        let _ = write!(
            s,
            "<tr><th style=\"{HEAD_STYLE}\" colspan=\"4\">total</th><th style=\"{HEAD_STYLE}\">{}</th>\
             <th style=\"{HEAD_STYLE}\">{}</th><th style=\"{HEAD_STYLE}\">{}</th><th style=\"{HEAD_STYLE}\"></th></tr>",
            thousands(params),
            human_bytes(bytes),
            human_bytes(params * 4)
        );
    }
    s.push_str("</table>");
    if bytes > 0 {
        let _ = write!(
            s,
            "<div style=\"font-size:12px;color:#444\">{:.1}x smaller than the same parameters as f32 \
             (bit layers store 64-bit words, so rows are padded to a multiple of 64 bits)</div>",
            (params * 4) as f64 / bytes as f64
        );
    }
    s.push_str("</div>");
    s
}

impl Chain {
    /// HTML table of the layers: kind, shape, parameters, bytes stored and as `f32`, output.
    pub fn to_html(&self) -> String {
        let rows: Vec<Row> = self.layers().iter().map(row).collect();
        table(
            &format!(
                "Chain of {} layers: {} → {}",
                rows.len(),
                self.inputs(),
                self.outputs()
            ),
            &rows,
        )
    }

    /// Shows the model in a notebook (HTML table).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl Layer {
    /// HTML table of this one layer.
    pub fn to_html(&self) -> String {
        table(&self.to_string(), &[row(self)])
    }

    /// Shows the layer in a notebook (HTML table).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl BitDense {
    /// HTML table of this layer: shape, parameters, bytes stored and as `f32`, output.
    pub fn to_html(&self) -> String {
        table(&self.to_string(), &[bit_row(self)])
    }

    /// Shows the layer in a notebook (HTML table).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

impl Dense {
    /// HTML table of this layer: shape, parameters, bytes, activation.
    pub fn to_html(&self) -> String {
        table(&self.to_string(), &[float_row(self)])
    }

    /// Shows the layer in a notebook (HTML table).
    pub fn evcxr_display(&self) {
        emit(&[(HTML, &self.to_html())]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::assert_balanced;
    use super::*;
    use crate::layers::Activation;

    #[test]
    fn chain_table_lists_layers_and_totals() {
        let model = Chain::new(vec![
            BitDense::new(784, 800).with_seed(1).into(),
            BitDense::new(800, 10)
                .with_output(BitOutput::Float(Activation::Sigmoid))
                .into(),
            Dense::new(10, 2, Activation::Relu, 1).into(),
        ])
        .unwrap();
        let html = model.to_html();
        assert!(html.contains("Chain of 3 layers: 784 → 2"));
        assert!(html.contains(">BitDense(784, 800)</td>"));
        assert!(html.contains(">784 → 800</td>"));
        assert!(html.contains(">628,000</td>")); // 784 * 800 + 800
        assert!(html.contains(">float, sigmoid</td>"));
        assert!(html.contains(">float, relu</td>"));
        assert!(html.contains(">bits (sign)</td>"));
        let total = model.parameters();
        assert!(html.contains(&format!(">{}</th>", thousands(total))));
        assert!(html.contains(&format!(">{}</th>", human_bytes(model.bytes()))));
        assert!(html.contains(&format!(">{}</th>", human_bytes(model.bytes_as_f32()))));
        assert_eq!(html.matches("<tr>").count(), 5); // header, 3 layers, total
        assert_balanced(&html, &["div", "table", "tr", "th", "td"]);
    }

    #[test]
    fn single_layers_have_tables_without_total() {
        let b = BitDense::new(64, 2);
        let html = b.to_html();
        assert!(html.contains(">1-bit</td>"));
        assert!(html.contains(">130</td>")); // 64 * 2 + 2
        assert!(html.contains(">520 B</td>")); // as f32
        assert!(!html.contains(">total</th>"));
        let d = Dense::new(3, 4, Activation::Tanh, 0);
        assert!(d.to_html().contains(">float, tanh</td>"));
        assert!(Layer::from(d).to_html().contains(">f32</td>"));
    }
}

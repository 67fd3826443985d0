//! Small widget helpers shared by the panels: a drop-down list of an enum's values and labelled
//! rows of a two-column grid. Each input widget is labelled by its label, which is how screen
//! readers and the egui_kittest tests find it.

use std::ops::RangeInclusive;

use eframe::egui;

/// One choice of an [`EnumCombo`]: the value, its name in the list, and its tooltip (`""`:
/// none).
pub type Choice<'a, T> = (T, &'a str, &'a str);

/// A drop-down list that sets `value` to one of `choices`, showing the chosen one's name.
pub struct EnumCombo<'a, T> {
    id_salt: &'a str,
    value: &'a mut T,
    choices: &'a [Choice<'a, T>],
}

impl<'a, T: Copy + PartialEq> EnumCombo<'a, T> {
    /// The list for `value`; `id_salt` tells it apart from other lists in the same window.
    pub fn new(id_salt: &'a str, value: &'a mut T, choices: &'a [Choice<'a, T>]) -> Self {
        Self {
            id_salt,
            value,
            choices,
        }
    }
}

impl<T: Copy + PartialEq> egui::Widget for EnumCombo<'_, T> {
    fn ui(self, ui: &mut egui::Ui) -> egui::Response {
        let Self {
            id_salt,
            value,
            choices,
        } = self;
        let selected = choices
            .iter()
            .find(|(v, _, _)| v == value)
            .map_or("", |(_, name, _)| *name);
        egui::ComboBox::from_id_salt(id_salt)
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for &(v, name, tip) in choices {
                    let r = ui.selectable_value(value, v, name);
                    if !tip.is_empty() {
                        r.on_hover_text(tip);
                    }
                }
            })
            .response
    }
}

/// `label`, then a drop-down list of `choices` for `value` labelled by it. Returns the list's
/// response (for a tooltip on the whole list). In a grid, end the row after it.
pub fn enum_combo<T: Copy + PartialEq>(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut T,
    choices: &[Choice<'_, T>],
) -> egui::Response {
    let l = ui.label(label);
    ui.add(EnumCombo::new(label, value, choices))
        .labelled_by(l.id)
}

/// A grid row: `label`, then `widget` labelled by it, with a tooltip.
pub fn row(ui: &mut egui::Ui, label: &str, widget: impl egui::Widget, tip: &str) {
    let l = ui.label(label);
    ui.add(widget).labelled_by(l.id).on_hover_text(tip);
    ui.end_row();
}

/// A grid row: `label`, then a number held to `range`.
pub fn drag<T: egui::emath::Numeric>(
    ui: &mut egui::Ui,
    label: &str,
    v: &mut T,
    range: RangeInclusive<T>,
    tip: &str,
) {
    row(ui, label, egui::DragValue::new(v).range(range), tip);
}

/// A grid row: `label`, then a fraction or factor held to `range` (steps of 0.01, four
/// decimals).
pub fn dragf(ui: &mut egui::Ui, label: &str, v: &mut f64, range: RangeInclusive<f64>, tip: &str) {
    let value = egui::DragValue::new(v)
        .range(range)
        .speed(0.01)
        .max_decimals(4);
    row(ui, label, value, tip);
}

/// A grid row: a check box `label` for `on`, then `widget`, enabled while `on`, with a tooltip.
/// Returns the check box's response (for its own tooltip).
pub fn toggled_row(
    ui: &mut egui::Ui,
    on: &mut bool,
    label: &str,
    widget: impl egui::Widget,
    tip: &str,
) -> egui::Response {
    let check = ui.checkbox(on, label);
    ui.add_enabled(*on, widget).on_hover_text(tip);
    ui.end_row();
    check
}

/// Makes egui's small text (plot tick labels, `Ui::small`) the body text's size in both
/// themes: at the default 9 points it is about 7 pixels high, too small to read.
pub fn readable_text(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        let body = style.text_styles.get(&egui::TextStyle::Body).cloned();
        if let (Some(body), Some(small)) =
            (body, style.text_styles.get_mut(&egui::TextStyle::Small))
            && small.size < body.size
        {
            small.size = body.size;
        }
    });
}

/// `text` with the characters egui's built-in fonts cannot draw spelled in ASCII: the core's
/// descriptions of convolutions name their shapes with arrows (`28x28x1 → 28x28x32`), which
/// would show as empty boxes.
pub fn displayable(text: &str) -> String {
    text.replace('→', "->")
}

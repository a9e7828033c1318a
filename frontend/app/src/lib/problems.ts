/** A form's problems: one message per field, plus one for the form as a whole. */
import { reactive, ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { describeProblem } from '@/i18n/problems'

export function useProblems(knownFields: string[]) {
  const { t, te } = useI18n()
  const fields = reactive<Record<string, string>>({})
  const form = ref('')

  function clear(): void {
    for (const key of Object.keys(fields)) delete fields[key]
    form.value = ''
  }

  function show(error: unknown): void {
    clear()
    const shown = describeProblem(error, t, te)
    if (shown.field && knownFields.includes(shown.field)) fields[shown.field] = shown.message
    else form.value = shown.message
  }

  function set(field: string, message: string): void {
    fields[field] = message
  }

  return { fields, form, clear, show, set }
}
